"""Baselines: the fingerprints of accepted findings, so later runs report only new ones.

Each entry says why it was accepted (`reason`) and until when (`expires`, a date): an expired
entry no longer suppresses its finding and is reported, and under ``--strict`` an entry without
a reason or an expiry is refused, so nothing is waved through for good.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodshield.errors import Invalid, NotFound
from prodshield.secrets.finding import SecretFinding
from prodshield.text import dumps_json

FORMAT_VERSION = 2
DEFAULT_EXPIRY_DAYS = 90


@dataclass(frozen=True)
class Baseline:
    """The fingerprints a baseline still accepts, and its entries that have expired."""

    fingerprints: frozenset[str]
    expired: tuple[str, ...] = ()
    """One line per expired entry (rule, where, date, reason), for the report."""


def write_baseline(
    path: Path,
    findings: Iterable[SecretFinding],
    *,
    reason: str = "",
    expires: dt.date | None = None,
) -> int:
    """Write the findings' fingerprints (and where they were, why and until when, for humans);
    returns the count."""
    until = (expires or dt.date.today() + dt.timedelta(days=DEFAULT_EXPIRY_DAYS)).isoformat()
    entries = sorted(
        {f.fingerprint: {"fingerprint": f.fingerprint, "rule": f.rule, "path": f.path, "line": f.line,
                         "reason": reason, "expires": until}
         for f in findings}.values(),
        key=lambda e: (str(e["path"]), int(e["line"] or 0), str(e["fingerprint"])),
    )  # fmt: skip
    document = {"version": FORMAT_VERSION, "tool": "prodshield", "findings": entries}
    path.write_text(dumps_json(document) + "\n", encoding="utf-8")  # a name not UTF-8: path_uri
    return len(entries)


def parse_date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{what}: expected a date YYYY-MM-DD, not {text!r}") from None


def accepted(
    path: Path, items: Iterable[Any], *, strict: bool = False, today: dt.date | None = None
) -> Baseline:
    """The entries of a baseline file that still suppress: expired ones are listed apart; under
    `strict`, an entry without a reason or an expiry is a usage error naming it."""
    today = today or dt.date.today()
    keep: set[str] = set()
    expired: list[str] = []
    for number, item in enumerate(items, 1):
        entry = item if isinstance(item, dict) else {"fingerprint": item}
        fp = entry.get("fingerprint")
        if not isinstance(fp, str):
            continue
        where = f"{entry.get('rule') or 'entry'} at {entry.get('path') or '?'}:{entry.get('line') or '?'}"
        reason = entry.get("reason")
        until = entry.get("expires")
        if strict and not (isinstance(reason, str) and reason.strip()):
            raise Invalid(
                f"{path}: baseline entry {number} ({where}) has no reason; under --strict every "
                "accepted finding says why (prodshield audit baseline --reason TEXT)"
            )
        if strict and not until:
            raise Invalid(
                f"{path}: baseline entry {number} ({where}) has no expiry; under --strict every "
                "accepted finding has one (prodshield audit baseline --expires YYYY-MM-DD)"
            )
        if until:
            date = parse_date(str(until), f"{path}: baseline entry {number} ({where}) expires")
            if date < today:
                why = f": {reason}" if reason else ""
                expired.append(f"{where} expired on {date.isoformat()}{why}")
                continue
        keep.add(fp)
    return Baseline(frozenset(keep), tuple(expired))


def read_document(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"{path}: cannot read baseline: no such file") from None
    except OSError as exc:
        raise Invalid(f"{path}: cannot read baseline: {exc.strerror}") from exc
    except ValueError as exc:
        raise Invalid(f"{path}: baseline is not JSON: {exc}") from exc


def load_baseline(path: Path, *, strict: bool = False, today: dt.date | None = None) -> Baseline:
    document = read_document(path)
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise Invalid(f"{path}: not a prodshield baseline (no 'findings' list)")
    return accepted(path, document["findings"], strict=strict, today=today)


def only_new(findings: Iterable[SecretFinding], known: frozenset[str]) -> Iterator[SecretFinding]:
    return (f for f in findings if f.fingerprint not in known)
