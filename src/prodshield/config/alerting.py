"""``escalations:`` and what checks say about paging beyond their ``alerts``."""

from __future__ import annotations

from pydantic import Field

from prodshield.config.base import StrictModel
from prodshield.config.types import Duration


class EscalationLevel(StrictModel):
    """One level of an escalation policy: who is paged when an incident is still unacknowledged
    this long after it opened."""

    after: Duration = Field(examples=["15m"])
    """How long after the incident opened, unacknowledged, this level is notified."""
    notify: list[str] = Field(min_length=1, examples=[["pagerduty-secondary"]])
    """Notifiers (names under ``notifiers``) this level pages; they also get the incident's
    acknowledgement and resolution."""
