"""Maintenance windows: planned work during which failures open no incident and do not count
against uptime, announced on the status page while it runs and ``announce`` ahead of it.

The monitor marks each result taken inside a window (``check_results.maintenance``) when it stores
it; every uptime figure (CLI, API, dashboard, status page, badges) leaves the marked results out
(``store.tables.COUNTS_FOR_UPTIME``), so a window's downtime is never paid for twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from prodshield.config.checks import MaintenanceWindow


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _current_start(window: MaintenanceWindow, moment: datetime) -> datetime | None:
    """The start of the occurrence of ``window`` covering ``moment``, else None."""
    if window.cron is not None and window.duration is not None:
        # The latest start at or before this moment; croniter steps back from just after it.
        start = _aware(croniter(window.cron, moment + timedelta(seconds=1)).get_prev(datetime))
        return start if start <= moment < start + timedelta(seconds=window.duration) else None
    if window.start is not None and window.end is not None:
        return _aware(window.start) if _aware(window.start) <= moment < _aware(window.end) else None
    return None


def window_active(window: MaintenanceWindow, ts: float) -> bool:
    """Whether ``ts`` (epoch seconds) falls inside ``window``."""
    return _current_start(window, datetime.fromtimestamp(ts, UTC)) is not None


def in_maintenance(
    windows: list[MaintenanceWindow], check: str, environment: str, ts: float
) -> str | None:
    """The name (or a description) of the first window covering this check at ``ts``, else None."""
    for i, window in enumerate(windows):
        if covers(window, check, environment) and window_active(window, ts):
            return window.name or f"maintenance[{i}]"
    return None


def covers(window: MaintenanceWindow, check: str, environment: str) -> bool:
    """Whether ``window`` applies to this check in this environment (whenever it runs)."""
    if window.environments is not None and environment not in window.environments:
        return False
    return window.checks is None or check in window.checks


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One run of a window: ongoing at the moment asked about, or announced ahead of it."""

    name: str
    start: float
    end: float
    ongoing: bool
    description: str | None
    environments: tuple[str, ...] | None
    checks: tuple[str, ...] | None
    window: int
    """The window's index under ``maintenance:``."""


def schedule(windows: Sequence[MaintenanceWindow], now: float) -> list[Occurrence]:
    """The occurrences ongoing at ``now`` and those starting within their window's ``announce``,
    ongoing first, then soonest first (a recurring window: its current and its next run)."""
    moment = datetime.fromtimestamp(now, UTC)
    out: list[Occurrence] = []
    for i, window in enumerate(windows):
        starts: list[tuple[datetime, datetime, bool]] = []
        current = _current_start(window, moment)
        if window.cron is not None and window.duration is not None:
            length = timedelta(seconds=window.duration)
            if current is not None:
                starts.append((current, current + length, True))
            following = _aware(croniter(window.cron, moment).get_next(datetime))
            starts.append((following, following + length, False))
        elif window.start is not None and window.end is not None:
            start, end = _aware(window.start), _aware(window.end)
            if current is not None or moment < start:
                starts.append((start, end, current is not None))
        for start, end, ongoing in starts:
            if not ongoing and start.timestamp() - now > window.announce:
                continue
            out.append(
                Occurrence(
                    name=window.name or f"maintenance[{i}]",
                    start=start.timestamp(),
                    end=end.timestamp(),
                    ongoing=ongoing,
                    description=window.description,
                    environments=None
                    if window.environments is None
                    else tuple(window.environments),
                    checks=None if window.checks is None else tuple(window.checks),
                    window=i,
                )
            )
    out.sort(key=lambda o: (not o.ongoing, o.start))
    return out
