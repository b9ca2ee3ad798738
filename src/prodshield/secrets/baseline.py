"""Baselines: the fingerprints of accepted findings, so later runs report only new ones."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from prodshield.errors import UsageError
from prodshield.secrets.finding import SecretFinding

FORMAT_VERSION = 1


def write_baseline(path: Path, findings: Iterable[SecretFinding]) -> int:
    """Write the findings' fingerprints (and where they were, for humans); returns the count."""
    entries = sorted(
        {f.fingerprint: {"fingerprint": f.fingerprint, "rule": f.rule, "path": f.path, "line": f.line}
         for f in findings}.values(),
        key=lambda e: (str(e["path"]), int(e["line"] or 0), str(e["fingerprint"])),
    )  # fmt: skip
    document = {"version": FORMAT_VERSION, "tool": "prodshield", "findings": entries}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len(entries)


def load_baseline(path: Path) -> frozenset[str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read baseline: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"{path}: baseline is not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise UsageError(f"{path}: not a prodshield baseline (no 'findings' list)")
    return frozenset(
        str(e["fingerprint"])
        for e in document["findings"]
        if isinstance(e, dict) and "fingerprint" in e
    )


def only_new(findings: Iterable[SecretFinding], known: frozenset[str]) -> Iterator[SecretFinding]:
    return (f for f in findings if f.fingerprint not in known)
