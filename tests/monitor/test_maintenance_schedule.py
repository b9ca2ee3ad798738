"""What the status page announces: ongoing windows, and upcoming ones within their ``announce``."""

from __future__ import annotations

from datetime import UTC, datetime

from prodshield.config.checks import MaintenanceWindow
from prodshield.monitor.maintenance import covers, schedule


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# durations written as in shield.yaml ("1h", "3d"): validated, as the config loader does
SUNDAY = MaintenanceWindow.model_validate(
    {"name": "patching", "cron": "0 3 * * 0", "duration": "1h"}
)
ONE_OFF = MaintenanceWindow.model_validate(
    {
        "name": "db-upgrade",
        "start": datetime(2026, 12, 10, 2, tzinfo=UTC),
        "end": datetime(2026, 12, 10, 4, tzinfo=UTC),
        "checks": ["database"],
        "description": "Upgrading PostgreSQL",
        "announce": "3d",
    }
)


def test_a_recurring_window_in_progress_lists_its_current_and_next_run() -> None:
    # Sunday 2026-12-06 03:30 UTC: inside the window, next one a week later (within 7 d)
    now = _ts("2026-12-06T03:30:00")
    runs = schedule([SUNDAY], now)
    assert [(r.ongoing, r.start, r.end) for r in runs] == [
        (True, _ts("2026-12-06T03:00:00"), _ts("2026-12-06T04:00:00")),
        (False, _ts("2026-12-13T03:00:00"), _ts("2026-12-13T04:00:00")),
    ]


def test_announce_bounds_how_far_ahead_a_window_is_shown() -> None:
    assert schedule([ONE_OFF], _ts("2026-12-06T12:00:00")) == []  # 3.6 days ahead: not yet
    (ahead,) = schedule([ONE_OFF], _ts("2026-12-07T12:00:00"))
    assert (ahead.name, ahead.ongoing, ahead.description) == (
        "db-upgrade",
        False,
        "Upgrading PostgreSQL",
    )
    assert ahead.checks == ("database",) and ahead.environments is None
    (now,) = schedule([ONE_OFF], _ts("2026-12-10T03:00:00"))
    assert now.ongoing
    assert schedule([ONE_OFF], _ts("2026-12-10T04:00:00")) == []  # over: gone
    never_ahead = ONE_OFF.model_copy(update={"announce": 0.0})
    assert schedule([never_ahead], _ts("2026-12-09T12:00:00")) == []


def test_ongoing_first_then_soonest() -> None:
    now = _ts("2026-12-10T03:00:00")  # a Thursday: the one-off runs, patching is 3 days ahead
    assert [(r.name, r.ongoing) for r in schedule([SUNDAY, ONE_OFF], now)] == [
        ("db-upgrade", True),
        ("patching", False),
    ]


def test_covers_narrows_by_environment_and_check() -> None:
    scoped = MaintenanceWindow.model_validate(
        {"cron": "0 3 * * 0", "duration": "1h", "environments": ["production"]}
    )
    assert covers(scoped, "website", "production") and not covers(scoped, "website", "staging")
    assert covers(ONE_OFF, "database", "staging") and not covers(ONE_OFF, "website", "staging")
