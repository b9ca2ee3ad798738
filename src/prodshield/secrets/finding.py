"""What a scan reports: `SecretFinding`, and the helpers that keep a secret out of every output."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from prodshield.severity import RANK

Severity = Literal["critical", "high", "medium", "low"]
# The scale of prodshield.severity without "info" (a secret is never merely informative).
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {name: RANK[name] for name in SEVERITIES}


def redact(value: str) -> str:
    """A few leading characters and a short hash: enough to recognise a value, never to use it.

    At most a quarter of the value (and never more than four characters) is shown, so short
    passwords show little or nothing.
    """
    shown = min(4, len(value) // 4)
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{value[:shown]}…[{digest}]"


def fingerprint(rule: str, value: str, path: str | None) -> str:
    """A stable identity for a finding (rule + value + path) that does not reveal the value."""
    material = "\0".join((rule, value, path or "")).encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """One leaked credential. `redacted` and `snippet` never hold the whole value."""

    rule: str
    kind: str
    severity: Severity
    path: str | None
    line: int
    column: int
    redacted: str
    fingerprint: str
    confidence: float
    snippet: str = ""
    commit: str | None = None
    author: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (documented in docs/secrets.md)."""
        return asdict(self)

    def with_location(self, **changes: Any) -> SecretFinding:
        return replace(self, **changes)
