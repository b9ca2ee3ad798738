"""Findings: what the log detectors report, one per (kind, source) with counts and samples."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

CATEGORIES = ("critical", "security", "performance", "trend")
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


@dataclass
class Finding:
    category: str
    kind: str
    severity: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    source: dict[str, Any] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    @property
    def fingerprint(self) -> str:
        key = json.dumps(
            [self.kind, {k: v for k, v in sorted(self.source.items()) if k != "file"}], default=str
        )
        return hashlib.sha1(key.encode()).hexdigest()[:20]

    def add(self, when: datetime | None, sample: str | None, n: int = 1) -> None:
        self.count += n
        if when is not None:
            if self.first_seen is None or when < self.first_seen:
                self.first_seen = when
            if self.last_seen is None or when > self.last_seen:
                self.last_seen = when
        if sample is not None and len(self.samples) < 3:
            self.samples.append(sample[:500])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_seen"] = self.first_seen.isoformat() if self.first_seen else None
        data["last_seen"] = self.last_seen.isoformat() if self.last_seen else None
        data["fingerprint"] = self.fingerprint
        return data


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Critical first, then by severity and count."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(
        findings,
        key=lambda f: (order.get(f.category, 9), SEVERITY_ORDER.get(f.severity, 9), -f.count),
    )
