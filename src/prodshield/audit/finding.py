"""An audit finding: what is unsafe, where, and how to fix it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from prodshield.severity import RANK


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is worse: low=1 ... critical=4."""
        return RANK[self.value]

    @property
    def security_severity(self) -> str:
        """The CVSS-like score GitHub code scanning reads from SARIF rules."""
        return _SCORE[self]

    def at_least(self, threshold: Severity) -> bool:
        return self.rank >= threshold.rank


_SCORE = {
    Severity.LOW: "2.0",
    Severity.MEDIUM: "5.0",
    Severity.HIGH: "7.5",
    Severity.CRITICAL: "9.5",
}


@dataclass(frozen=True)
class AuditFinding:
    """One problem. ``path``/``line`` for files, ``target`` (``host:port``) for endpoints."""

    family: str
    rule: str
    severity: Severity
    title: str
    message: str
    fix: str
    fingerprint: str
    path: str | None = None
    line: int | None = None
    target: str | None = None
    live: bool = False
    """The provider confirmed the secret works (``--verify``): no baseline, allow list or inline
    comment suppresses the finding. Shown in the message; not a stored field."""
    secret_id: str | None = None
    """A secret's keyed id in this run (never its value, never written out): findings of the
    same secret are joined into one by the audit."""
    places: tuple[str, ...] = ()
    """Every place a joined secret was found (``path:line``, ``pid:N env:NAME``), this finding's
    own first; empty when found in one place."""

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON fields, in the documented order."""
        return {
            "family": self.family,
            "rule": self.rule,
            "severity": str(self.severity),
            "title": self.title,
            "path": self.path,
            "line": self.line,
            "target": self.target,
            "message": self.message,
            "fix": self.fix,
            "fingerprint": self.fingerprint,
            **({"places": list(self.places)} if self.places else {}),
        }

    @property
    def location(self) -> str:
        if self.target:
            return self.target
        if self.path and self.line:
            return f"{self.path}:{self.line}"
        return self.path or "(environment)"


def fingerprint(*parts: object) -> str:
    """A stable id for a finding that survives line moves (used by baselines and SARIF)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    h = hashlib.sha256(text.encode("utf-8", "surrogateescape"))  # a name that is not UTF-8
    return h.hexdigest()[:32]
