"""Where a secret is live: one finding per secret, listing every place it was found.

The same value found in the repository (a file, or a commit in its history), in a running
process's environment and in a production log is one leak with several places, not three
findings. Findings are joined by `secret_id`, a keyed hash of the value made for this run (see
`prodshield.secrets.finding.secret_id`), never by the value itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from prodshield.secrets.engine import Scanner
from prodshield.secrets.finding import SEVERITY_RANK, Place, SecretFinding

# Which place a joined finding is reported at (its path, line, commit), and the order of its
# places: the repository first.
_ORDER = {"git": 0, "file": 1, "process": 2, "log": 3}
_SHELL_DIRS = frozenset({"PWD", "OLDPWD"})
_HIGH = SEVERITY_RANK["high"]


def placed(findings: Iterable[SecretFinding], kind: str) -> list[SecretFinding]:
    """The findings of one source (``file``, ``git`` or ``log``), each naming its place."""
    out = []
    for f in findings:
        where = "git" if kind == "file" and f.commit else kind
        place = Place(where, path=f.path, line=f.line, commit=f.commit)
        out.append(replace(f, places=(place,)))
    return out


def environment_findings(
    variables: Iterable[tuple[str, str]], *, pid: int | None, scanner: Scanner
) -> list[SecretFinding]:
    """Secrets in one process's environment (``NAME=value`` pairs), each placed at its variable;
    the findings have no path (an environment is not a file). A plaintext secret in a running
    environment is high (critical when its format is), whatever the rule rates it in a file:
    ``audit``'s ``environment.*-secret`` rules rate it so (docs/audit.md)."""
    out = []
    for name, value in variables:
        if name in _SHELL_DIRS and value.startswith("/"):
            continue  # the shell's working directory (in every process): "pwd" is no password
        for f in scanner.scan_line(f"{name}={value}"):
            place = Place("process", pid=pid, variable=name)
            severity = f.severity if SEVERITY_RANK[f.severity] >= _HIGH else "high"
            out.append(
                replace(
                    f,
                    path=None,
                    line=0,
                    column=1,
                    snippet=f"{name}=…",
                    places=(place,),
                    severity=severity,
                )
            )
    return out


def join(findings: Sequence[SecretFinding]) -> list[SecretFinding]:
    """One finding per secret: the findings with the same `secret_id` become the first of them
    (repository, then process, then log) with every place listed, the worst severity and any
    verdict one of them carries."""
    groups: dict[str, list[SecretFinding]] = {}
    alone: list[SecretFinding] = []
    for f in findings:
        if f.secret_id:
            groups.setdefault(f.secret_id, []).append(f)
        else:
            alone.append(f)
    out = list(alone)
    for group in groups.values():
        group.sort(key=lambda f: min((_ORDER.get(p.kind, 9) for p in f.places), default=9))
        places: list[Place] = []
        for f in group:
            places.extend(p for p in f.places if p not in places)
        places.sort(key=lambda p: _ORDER.get(p.kind, 9))
        first = group[0]
        worst = max(group, key=lambda f: SEVERITY_RANK[f.severity]).severity
        verdict = next((f.verification for f in group if f.verification is not None), None)
        out.append(replace(first, places=tuple(places), severity=worst, verification=verdict))
    return out


__all__ = ["environment_findings", "join", "placed"]
