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


class BurnRateAlert(StrictModel):
    """One multi-window burn-rate alert: it fires when the error budget burns at least
    ``burn_rate`` times the sustainable pace over both the long and the short window."""

    long: Duration = Field(examples=["1h"])
    """The long window (how much budget must have burnt)."""
    short: Duration = Field(examples=["5m"])
    """The short window (it is still burning now: the alert resets soon after a fix)."""
    burn_rate: float = Field(gt=0, examples=[14.4])
    """How many times faster than the pace that spends the budget exactly over ``window``."""


def _workbook_alerts() -> list[BurnRateAlert]:
    """The SRE workbook's multi-window, multi-burn-rate alerts for a 30-day window."""
    return [
        BurnRateAlert(long=3600.0, short=300.0, burn_rate=14.4),
        BurnRateAlert(long=6 * 3600.0, short=1800.0, burn_rate=6.0),
        BurnRateAlert(long=86400.0, short=2 * 3600.0, burn_rate=3.0),
        BurnRateAlert(long=3 * 86400.0, short=6 * 3600.0, burn_rate=1.0),
    ]


class SloConfig(StrictModel):
    """A service level objective on a check's results, with its error budget and burn-rate
    alerts."""

    objective: float = Field(gt=0, lt=100, examples=[99.9])
    """The share of results that must pass, in percent."""
    window: Duration = Field(default=30 * 86400.0, examples=["30d"])
    """The rolling window the objective and its error budget cover."""
    alerts: list[BurnRateAlert] = Field(
        default_factory=_workbook_alerts,
        examples=[[{"long": "1h", "short": "5m", "burn_rate": 14.4}]],
    )
    """Burn-rate alerts (default: the SRE workbook's 14.4x over 1h and 5m, 6x over 6h and
    30m, 3x over 1d and 2h, 1x over 3d and 6h); an empty list: none."""
    status_page: bool = Field(default=False, examples=[True])
    """Show the remaining error budget on the public status page too."""
