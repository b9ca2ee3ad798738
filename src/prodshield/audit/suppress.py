"""Baselines and inline allow comments, the same for the audit and the secret scanner.

The file format is the secret scanner's (``{"version": 1, "tool": "prodshield", "findings":
[{"fingerprint", "rule", "path", "line"}]}``) and secret findings keep the engine's fingerprints,
so one baseline serves ``audit secrets`` and the full audit. Inline: the allow comment
(``prodshield: allow`` or ``prodshield:allow``, every rule, or ``prodshield: allow
config.django-debug, tls``: those rules) on the finding's line or alone on the comment line just
above it, read by the one parser the secret scanner uses too (:mod:`prodshield.secrets.allow`).
A baseline is a JSON file of fingerprints of accepted findings (written with
``prodshield audit baseline``); it accepts ``{"fingerprints": [...]}``, ``{"findings": [{...,
"fingerprint"}]}`` or a plain list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from prodshield.audit.finding import AuditFinding
from prodshield.errors import Invalid, NotFound
from prodshield.secrets.allow import allowed_above, allowed_rules, silences
from prodshield.secrets.baseline import accepted
from prodshield.text import dumps_json, plural


def suppressed_text(counts: Mapping[str, int]) -> str:
    """What a report says of the findings it leaves out, by reason: ``3 duplicates of findings
    listed above, 1 by the baseline`` (a duplicate is an environment finding on a line the secret
    scan already reports)."""
    words = {
        "config": "by shield.yaml's allow-lists",
        "baseline": "by the baseline",
        "inline": "by inline allow comments",
    }
    parts = []
    for reason, n in counts.items():
        if reason == "duplicate":
            parts.append(f"{plural(n, 'duplicate')} of findings listed above")
        elif reason == "inline" and n == 1:
            parts.append("1 by an inline allow comment")
        else:
            parts.append(f"{n} {words.get(reason, 'by ' + reason)}")
    return ", ".join(parts)


def inline_allowed(f: AuditFinding, read: Callable[[str], str | None]) -> bool:
    if not f.path or not f.line:
        return False
    text = read(f.path)
    if text is None:
        return False
    lines = text.splitlines()
    if not 1 <= f.line <= len(lines):
        return False
    rules = allowed_rules(lines[f.line - 1])
    if rules is None and f.line > 1:
        rules = allowed_above(lines[f.line - 2])  # a comment line above it
    return silences(rules, f.rule, f.family)


def load_baseline(path: Path, *, strict: bool = False) -> set[str]:
    """The fingerprints a baseline still accepts (expired entries no longer do; under `strict`
    an entry without a reason or expiry is refused: `prodshield.secrets.baseline.accepted`)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"baseline {path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise Invalid(f"baseline {path}: not a JSON baseline ({exc})") from None
    items: Iterable[Any]
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        items = data.get("fingerprints") or data.get("findings") or data.get("results") or []
    else:
        items = []
    return set(accepted(path, items, strict=strict).fingerprints)


def write_baseline(path: Path, findings: Iterable[AuditFinding]) -> int:
    entries = sorted(
        (
            {
                "fingerprint": f.fingerprint,
                "rule": f.rule,
                "path": f.path or f.target,
                "line": f.line,
            }
            for f in findings
        ),
        key=lambda e: (str(e["path"]), int(e["line"] or 0), str(e["fingerprint"])),
    )
    path.write_text(
        dumps_json({"version": 1, "tool": "prodshield", "findings": entries}) + "\n",  # path_uri
        encoding="utf-8",
    )
    return len(entries)
