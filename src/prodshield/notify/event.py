"""The notification event: what a capability asks the notifiers to say, once."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from prodshield.secrets.redaction import redact_text
from prodshield.severity import SEVERITIES
from prodshield.text import clip, controls_out, unpaired_out

EVENT_TYPES = (
    "incident.opened",
    "incident.updated",
    "incident.resolved",
    "incident.reminder",
    "incident.acknowledged",
    "incident.note",
    "incident.evidence",
    "log.critical",
    "audit.failed",
    "experiment.deviated",
    "digest",
    "store.warning",
    "subscription.confirm",
    "test",
)
"""Every event type a notifier may receive."""


MAX_TITLE = 256
MAX_BODY = 60_000
MAX_FIELD = 2_000
MAX_FIELDS = 25


@dataclass
class Event:
    """One notification.

    ``key`` is the idempotency key: enqueuing the same key twice for a notifier is a no-op and
    providers use it to recognise what they already delivered. ``subject`` names the thread the
    event belongs to (for GitHub, one issue per subject), e.g. ``incident:api-health:production``.

    Title, body and fields usually carry outside text (a log line, a target's error): an event is
    redacted and bounded when it is made, so neither the outbox nor any notifier sees a secret or
    an unbounded text.
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
        self.title, self.body, self.fields = _clean(self.title, self.body, self.fields)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def _clean(title: Any, body: Any, fields: dict[Any, Any]) -> tuple[str, str, dict[str, str]]:
    """Redacted, bounded, and with no lone surrogate (U+FFFD instead): a file name that is not
    UTF-8 (``\\udcff``) made the event itself, or each notifier's encoding, fail."""
    return (
        redact_text(clip(unpaired_out(str(title)), MAX_TITLE)),
        redact_text(clip(unpaired_out(str(body)), MAX_BODY)),
        {
            clip(unpaired_out(str(k)), 100): redact_text(clip(unpaired_out(str(v)), MAX_FIELD))
            for k, v in list(fields.items())[:MAX_FIELDS]
        },
    )


def clean_payload(data: dict[str, Any]) -> dict[str, Any]:
    """An outbox payload made by hand, redacted and bounded as an `Event` is."""
    title, body, fields = _clean(
        data.get("title", ""), data.get("body", ""), data.get("fields") or {}
    )
    out = dict(data)
    for name, value in (("title", title), ("body", body), ("fields", fields)):
        if name in data:
            out[name] = value
    return out


def with_marks(event: Event) -> Event:
    """``event`` as a person reads it: every control character (but tab, newline and carriage
    return) and bidirectional override of its title, body and fields shown as its visible
    mark (``␛[31m``, ``␇``, ``\ufffd``; `prodshield.text.controls_out`, as the dashboard does), so
    a target's ANSI colours or a title escape neither act in a chat client or a terminal mail
    reader nor go unseen. The webhook sends the event as data, unchanged."""
    title, body = controls_out(event.title), controls_out(event.body)
    fields = {controls_out(k): controls_out(v) for k, v in event.fields.items()}
    if (title, body, fields) == (event.title, event.body, event.fields):
        return event
    return replace(event, title=title, body=body, fields=fields)
