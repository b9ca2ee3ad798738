"""Maintenance windows: planned work during which failures open no incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import croniter

from prodshield.config.checks import MaintenanceWindow


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def window_active(window: MaintenanceWindow, ts: float) -> bool:
    """Whether ``ts`` (epoch seconds) falls inside ``window``."""
    moment = datetime.fromtimestamp(ts, UTC)
    if window.cron is not None and window.duration is not None:
        # The latest start at or before this moment; croniter steps back from just after it.
        start = croniter(window.cron, moment + timedelta(seconds=1)).get_prev(datetime)
        start = _aware(start)
        return start <= moment < start + timedelta(seconds=window.duration)
    if window.start is not None and window.end is not None:
        return _aware(window.start) <= moment < _aware(window.end)
    return False


def in_maintenance(
    windows: list[MaintenanceWindow], check: str, environment: str, ts: float
) -> str | None:
    """The name (or a description) of the first window covering this check at ``ts``, else None."""
    for i, window in enumerate(windows):
        if window.environments is not None and environment not in window.environments:
            continue
        if window.checks is not None and check not in window.checks:
            continue
        if window_active(window, ts):
            return window.name or f"maintenance[{i}]"
    return None
