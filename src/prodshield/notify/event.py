"""The notification event: what a capability asks the notifiers to say, once."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EVENT_TYPES = (
    "incident.opened",
    "incident.updated",
    "incident.resolved",
    "incident.reminder",
    "log.critical",
    "audit.failed",
    "experiment.deviated",
    "digest",
    "store.warning",
    "test",
)
"""Every event type a notifier may receive."""

SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass
class Event:
    """One notification.

    ``key`` is the idempotency key: enqueuing the same key twice for a notifier is a no-op and
    providers use it to recognise what they already delivered. ``subject`` names the thread the
    event belongs to (for GitHub, one issue per subject), e.g. ``incident:api-health:production``.
    """

    key: str
    type: str
    subject: str
    title: str
    body: str = ""
    severity: str = "info"
    fields: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > 255:
            raise ValueError("event key must be 1 to 255 characters")
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r} (one of {', '.join(EVENT_TYPES)})")
        if not self.subject or len(self.subject) > 255:
            raise ValueError("event subject must be 1 to 255 characters")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r} (one of {', '.join(SEVERITIES)})")
        self.fields = {str(k): str(v) for k, v in self.fields.items()}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)
