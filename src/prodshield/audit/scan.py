"""The public audit API: :func:`audit` runs the families and returns an :class:`AuditReport`."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodshield.audit.context import AuditContext, AuditSettings, TlsTarget
from prodshield.audit.finding import AuditFinding, Severity
from prodshield.audit.rules import FAMILIES
from prodshield.audit.suppress import inline_allowed, load_baseline
from prodshield.errors import Invalid, NotFound
from prodshield.secrets.allow import SECRET_FINDINGS
from prodshield.secrets.files import matches_any

if TYPE_CHECKING:
    from prodshield.config.capabilities import AuditConfig

FAMILY_ORDER = ("permissions", "config", "secrets", "environment", "tls")


@dataclass
class AuditReport:
    findings: list[AuditFinding]
    families: list[str]
    duration: float
    skipped: list[str] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0
    root: Path | None = None
    """The folder report paths are relative to."""
    anchor: str | None = None
    """The config file (relative to ``root``) that named the TLS targets, when it is there."""
    unreachable: list[str] = field(default_factory=list)
    """TLS endpoints that could not be reached (also in ``skipped``, with the reason)."""
    tls_graded: int = 0
    scope: dict[str, str] = field(default_factory=dict)
    """Per family checked, a digest of what it looked at (paths, exclusions, endpoints,
    environments): stored runs are compared only where both looked the same way."""

    @property
    def nothing_checked(self) -> bool:
        """A TLS-only run whose every endpoint was unreachable: the gate checked nothing, so
        "no findings" would be a pass that means nothing (the CLI exits 3)."""
        return self.families == ["tls"] and bool(self.unreachable) and not self.tls_graded

    def at_or_above(self, threshold: Severity | str) -> list[AuditFinding]:
        t = Severity(threshold)
        return [f for f in self.findings if f.severity.at_least(t)]

    def failed(self, fail_on: Severity | str = Severity.HIGH) -> bool:
        return bool(self.at_or_above(fail_on))

    def summary(self, fail_on: Severity | str = Severity.HIGH) -> dict[str, Any]:
        by_sev = Counter(str(f.severity) for f in self.findings)
        return {
            "total": len(self.findings),
            "by_severity": {s.value: by_sev.get(s.value, 0) for s in Severity},
            "by_family": dict(sorted(Counter(f.family for f in self.findings).items())),
            "families": self.families,
            "fail_on": str(Severity(fail_on)),
            "failed": self.failed(fail_on),
            "suppressed": self.suppressed,
            "skipped": len(self.skipped),
            "unreachable": len(self.unreachable),
            "nothing_checked": self.nothing_checked,
            "duration_s": round(self.duration, 4),
        }

    def to_dict(self, fail_on: Severity | str = Severity.HIGH) -> dict[str, Any]:
        """The documented JSON shape: ``{"findings": [...], "summary": {...}}``."""
        return {
            "findings": [{k: v for k, v in f.to_dict().items()} for f in self.findings],
            "summary": self.summary(fail_on),
            "skipped": self.skipped,
        }


def unreachable_note(report: AuditReport) -> str:
    """``nothing checked: 1 endpoint could not be reached``, ``2 endpoints could not be
    reached`` when others were checked, or "" when every endpoint answered."""
    n = len(report.unreachable)
    if not n:
        return ""
    said = f"{n} endpoint{'' if n == 1 else 's'} could not be reached"
    return f"nothing checked: {said}" if report.nothing_checked else said


def parse_families(spec: str | Iterable[str] | None) -> list[str]:
    if spec is None:
        return list(FAMILY_ORDER)
    names = spec.split(",") if isinstance(spec, str) else [p for s in spec for p in s.split(",")]
    out = []
    for n in (x.strip() for x in names):
        if not n:
            continue
        if n not in FAMILIES:
            raise Invalid(f"unknown audit family {n!r} (choose from {', '.join(FAMILY_ORDER)})")
        if n not in out:
            out.append(n)
    return out


def settings_from_config(cfg: AuditConfig | None) -> AuditSettings:
    s = AuditSettings()
    if cfg is None:
        return s
    s.expiry_warn_days = cfg.expiry_warn_days
    s.expiry_critical_days = cfg.expiry_critical_days
    s.revocation = cfg.revocation
    s.revocation_hosts = tuple(cfg.revocation_hosts)
    s.proc_environ = cfg.proc_environ
    s.timeout = cfg.timeout
    if cfg.owner is not None:
        s.owner_uid = _uid(cfg.owner)
    return s


def _uid(owner: str | int) -> int:
    if isinstance(owner, int) or str(owner).isdigit():
        return int(owner)
    import pwd

    try:
        return pwd.getpwnam(str(owner)).pw_uid
    except KeyError:
        raise NotFound(f"audit owner {owner!r}: no such user") from None


def _tls_targets(
    given: Iterable[TlsTarget | str], servername: str | None, config: AuditConfig | None
) -> list[TlsTarget]:
    """The endpoints to probe: those given, else the config's; ``servername`` overrides SNI."""
    targets = [t if isinstance(t, TlsTarget) else TlsTarget.parse(t, servername) for t in given]
    if not targets and config is not None:
        targets = [TlsTarget(t.host, t.port, t.servername or servername) for t in config.tls]
    if servername:
        targets = [TlsTarget(t.host, t.port, servername) for t in targets]
    return targets


def _ca_file(ca_file: str | Path | None, base: Path, config: AuditConfig | None) -> Path | None:
    """The CA bundle given, else the config's (relative to ``base``); a missing one is refused."""
    ca = (
        Path(ca_file) if ca_file else (base / config.ca_file if config and config.ca_file else None)
    )
    if ca is not None and not ca.is_file():
        raise NotFound(f"CA file {ca}: no such file")
    return ca


def audit(
    paths: Sequence[str | Path] = (),
    *,
    config: AuditConfig | None = None,
    families: str | Iterable[str] | None = None,
    tls_targets: Iterable[TlsTarget | str] = (),
    ca_file: str | Path | None = None,
    servername: str | None = None,
    environ: Mapping[str, str] | None = None,
    settings: AuditSettings | None = None,
    baseline: str | Path | None = None,
    exclude: Iterable[str] = (),
    repo_root: str | Path | None = None,
    base_dir: Path | None = None,
    config_paths: bool = True,
    fix_from: Path | None = None,
) -> AuditReport:
    """Audit files under ``paths``, live ``tls_targets`` and (if given) ``environ``.

    ``config`` (the ``audit:`` section of shield.yaml) supplies defaults for paths, TLS targets,
    CA file, exclusions, allowed rules and thresholds; explicit arguments win. ``base_dir``
    resolves relative paths from the config; ``config_paths=False`` audits no files unless
    ``paths`` names some (``audit tls``). ``fix_from``: the folder the proposed ``chmod``/``chown``
    fixes are run from (the CLI's working directory; default: they name the reported path). Raises :class:`~prodshield.errors.Invalid` for bad arguments,
    :class:`~prodshield.errors.NotFound` for a path, user or CA file that does not exist.
    """
    started = time.time()
    t0 = time.perf_counter()
    base = base_dir or Path.cwd()
    chosen = parse_families(families)
    if not paths and config is not None and config_paths:
        paths = [base / p for p in (config.paths or ["."])]
    targets = _tls_targets(tls_targets, servername, config)
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise NotFound(f"{missing[0]}: no such file or directory")
    ca = _ca_file(ca_file, base, config)
    ctx = AuditContext(
        paths=[Path(p) for p in paths],
        tls_targets=targets,
        ca_file=ca,
        environ=environ,
        exclude=tuple(exclude) + tuple(config.exclude if config else ()),
        settings=settings or settings_from_config(config),
        audit_config=config,
        repo_root=Path(repo_root) if repo_root else _git_root([Path(p) for p in paths]),
        fix_from=fix_from,
    )
    allow = set(config.allow_rules if config else ())
    # audit.secrets.allow_paths: secret findings in these files are counted, never reported
    # (as `audit secrets` does)
    allow_paths = tuple(config.secrets.allow_paths) if config else ()
    strict = ctx.settings.strict
    fingerprints = load_baseline(Path(baseline), strict=strict) if baseline else set()

    found: list[AuditFinding] = []
    # TLS endpoints are network-bound: probe them while the file families run.
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        tls_future = None
        if "tls" in chosen and targets:
            tls_future = pool.submit(_run_family, "tls", ctx)
        ctx.base()
        for name in chosen:
            if name == "tls" and tls_future is not None:
                continue
            found.extend(_run_family(name, ctx))
        if tls_future is not None:
            found.extend(tls_future.result())

    kept: list[AuditFinding] = []
    suppressed: Counter[str] = Counter()
    seen: set[str] = set()
    # One secret on one line is one finding: a .env line the secret scanner already reports
    # (with its format and confidence) is not reported again by the environment family.
    leaked = {(f.path, f.line) for f in found if f.rule == "secrets.leak" and f.path}
    for f in found:
        if f.fingerprint in seen:
            continue
        seen.add(f.fingerprint)
        if f.live:  # a working secret fails the gate whatever suppresses it
            kept.append(f)
            continue
        if f.rule == "environment.dotenv-secret" and (f.path, f.line) in leaked:
            suppressed["duplicate"] += 1
            continue
        if f.rule in allow or f.family in allow or _allowed_path(f, allow_paths):
            suppressed["config"] += 1
        elif f.fingerprint in fingerprints:
            suppressed["baseline"] += 1
        elif not strict and inline_allowed(f, lambda rel: _read(ctx, rel)):
            suppressed["inline"] += 1
        else:
            kept.append(f)
    suppressed.update(_engine_suppressed(ctx))
    kept = join_places(kept)
    kept.sort(
        key=lambda f: (
            -f.severity.rank,
            f.family,
            f.path or "",
            f.line or 0,
            f.target or "",
            f.rule,
        )
    )
    return AuditReport(
        findings=kept,
        families=chosen,
        duration=time.perf_counter() - t0,
        skipped=ctx.skipped,
        unreachable=ctx.unreachable,
        tls_graded=ctx.tls_graded,
        suppressed=dict(suppressed),
        started_at=started,
        root=ctx.base(),
        scope=_scope(ctx, chosen, targets, bool(environ)),
    )


def _scope(
    ctx: AuditContext, chosen: list[str], targets: list[TlsTarget], environ: bool
) -> dict[str, str]:
    """Family -> a digest of what it looked at, for comparing stored runs like with like."""
    files = [
        sorted(ctx.relpath(p) for p in ctx.paths),
        sorted(ctx.exclude),
        str(ctx.ca_file or ""),
    ]
    # the secrets and environment families share findings (a .env secret, one secret in
    # several places): each one's findings depend on whether the other ran
    both = "secrets" in chosen and "environment" in chosen
    extra: dict[str, list[Any]] = {
        "secrets": [both],
        "environment": [both, environ, ctx.settings.proc_environ],
        "tls": [sorted(f"{t.host}:{t.port}:{t.servername or ''}" for t in targets)],
    }
    out = {}
    for name in chosen:
        text = json.dumps([name, files, extra.get(name, [])], sort_keys=True)
        out[name] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def _engine_suppressed(ctx: AuditContext) -> Counter[str]:
    """What the secret engine itself left out (shield.yaml's secret ``allow_rules``, its inline
    allow comments), counted like the rest."""
    out: Counter[str] = Counter()
    engine = ctx.cached("secrets", "scanner")
    if engine is not None:
        counters = engine[0].counters
        for key, reason in (("allowed_config", "config"), ("allowed_inline", "inline")):
            out[reason] += int(counters.get(key, 0))
    return +out


def _allowed_path(f: AuditFinding, allow_paths: tuple[str, ...]) -> bool:
    """A secret's finding in a file ``audit.secrets.allow_paths`` names."""
    return bool(allow_paths and f.rule in SECRET_FINDINGS and f.path) and matches_any(
        f.path or "", allow_paths
    )


def join_places(findings: list[AuditFinding]) -> list[AuditFinding]:
    """One finding per secret: the findings of the same secret (a file or commit, a ``.env``
    line, a process's environment) become the first of them (the repository's before the
    environments'), listing every place in ``places`` and its message, with the worst severity;
    live when any of them is. Findings that are not secrets pass through."""
    groups: dict[str, list[AuditFinding]] = {}
    out: list[AuditFinding] = []
    for f in findings:
        if f.secret_id:
            group = groups.setdefault(f.secret_id, [])
            if not group:
                out.append(f)  # the group's place in the list, filled in below
            group.append(f)
        else:
            out.append(f)
    joined: dict[str, AuditFinding] = {}
    for sid, group in groups.items():
        if len(group) == 1:
            continue
        group.sort(
            key=lambda f: (f.family != "secrets", f.target is not None, f.path or "", f.line or 0)
        )
        places = list(dict.fromkeys(f.location for f in group))
        if len(places) == 1:
            continue
        first = group[0]
        worst = max(group, key=lambda f: f.severity.rank).severity
        others = ", ".join(places[1:])
        joined[sid] = replace(
            first,
            severity=worst,
            live=any(f.live for f in group),
            places=tuple(places),
            message=f"{first.message}; the same secret is also in {others}",
        )
    return [joined.get(f.secret_id or "", f) if f.secret_id else f for f in out]


def _run_family(name: str, ctx: AuditContext) -> list[AuditFinding]:
    family = FAMILIES[name]
    return list(family.run(ctx, family.rules))


def _read(ctx: AuditContext, rel: str) -> str | None:
    for root in [ctx.repo_root, *ctx.paths]:
        if root is None:
            continue
        base = root if root.is_dir() else root.parent
        p = base / rel
        if p.is_file():
            return ctx.read_text(p)
    p = Path(rel)
    return ctx.read_text(p) if p.is_file() else None


def _git_root(paths: list[Path]) -> Path | None:
    """The repository holding the audited paths, so SARIF locations are repo-relative."""
    if not paths:
        return None
    start = paths[0].resolve()
    start = start if start.is_dir() else start.parent
    for d in [start, *start.parents]:
        if (d / ".git").exists():
            return d
    return None
