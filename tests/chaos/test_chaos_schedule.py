"""Scheduled experiments (``chaos.experiments``, run by ``serve``): cron in a time zone, a broken
file stored as a failed run, a guarded run skipped, and a run interrupted when serve stops."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from prodshield.chaos.experiments.schedule import ScheduledExperiments, next_run
from prodshield.config.capabilities import ScheduledExperiment
from prodshield.store import Store
from prodshield.store import tables as t


def _rows(store: Store) -> list[Any]:
    j = t.experiment_journals
    with store.connect() as conn:
        return list(conn.execute(select(j).order_by(j.c.id)).all())


def test_next_run_follows_the_time_zone_across_daylight_saving() -> None:
    paris = ZoneInfo("Europe/Paris")
    winter = datetime(2026, 3, 28, 9, 0, tzinfo=paris).timestamp()  # the day before DST
    first = next_run("0 10 * * *", "Europe/Paris", winter)
    second = next_run("0 10 * * *", "Europe/Paris", first)
    assert datetime.fromtimestamp(first, paris).hour == 10
    assert datetime.fromtimestamp(second, paris).hour == 10
    assert second - first == 23 * 3600  # the clocks went forward in between
    assert next_run("* * * * * */5", "UTC", 1000.0) == 1005.0


def test_a_broken_file_is_a_failed_run_and_an_open_incident_skips(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    spec = ScheduledExperiment(name="bad", file="bad.json", schedule="0 3 * * *")
    missing = ScheduledExperiment(name="gone", file="nope.yaml", schedule="0 3 * * *")
    (tmp_path / "ok.json").write_text(
        json.dumps(
            {
                "title": "ok",
                "description": "d",
                "method": [
                    {"type": "action", "name": "t", "provider": {"type": "process", "path": "true"}}
                ],
            }
        )
    )
    guarded = ScheduledExperiment(name="guarded", file="ok.json", schedule="0 3 * * *", env="prod")
    incident = {"id": 4, "check": "api", "environment": "prod", "kind": "down", "opened_at": 0.0}
    service = ScheduledExperiments(
        [spec, missing, guarded], tmp_path, store, open_incidents=lambda env: [incident]
    )
    for s in (spec, missing, guarded):
        service.run_one(s)
    bad, gone, skipped = _rows(store)
    assert bad.status == "failed" and bad.title == "bad" and bad.journal["problems"]
    assert gone.status == "failed" and "nope.yaml" in " ".join(gone.journal["problems"])
    assert skipped.status == "skipped"
    assert skipped.journal["skipped"].startswith(
        "refusing to inject faults while 1 incident is open in prod: #4 api (prod) down"
    )
    assert skipped.journal["prodshield"]["source"] == "schedule guarded"


def test_stopping_serve_interrupts_a_run_and_plays_the_rollback_of_what_ran(
    store: Store, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    (tmp_path / "long.json").write_text(
        json.dumps(
            {
                "title": "a long one",
                "description": "d",
                "method": [
                    {
                        "type": "action",
                        "name": "touch",
                        "provider": {
                            "type": "process",
                            "path": "touch",
                            "arguments": [str(marker)],
                        },
                        "pauses": {"after": 120},
                    }
                ],
                "rollbacks": [
                    {
                        "type": "action",
                        "name": "untouch",
                        "undoes": "touch",
                        "provider": {
                            "type": "process",
                            "path": "rm",
                            "arguments": ["-f", str(marker)],
                        },
                    }
                ],
            }
        )
    )
    spec = ScheduledExperiment(name="long", file="long.json", schedule="* * * * * *")
    service = ScheduledExperiments([spec], tmp_path, store)
    threads = threading.active_count()  # this process's, whatever the tests before it left

    async def go() -> float:
        stop = asyncio.Event()
        task = asyncio.ensure_future(service.run(stop))
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert marker.exists()
        assert [r.status for r in _rows(store)] == ["running"]
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, 30)
        return time.monotonic() - started

    took = asyncio.run(go())
    assert took < 20  # the 120 s pause was cut short
    (row,) = _rows(store)
    assert row.status == "interrupted" and row.ended_at is not None
    assert [r["activity"]["name"] for r in row.journal["rollbacks"]] == ["untouch"]
    assert not marker.exists()
    assert threading.active_count() < threads + 45  # no thread per tick left running


def test_a_run_never_starts_before_its_scheduled_second(
    store: Store, tmp_path: Path, monkeypatch: Any
) -> None:
    """Seen: a run for :45 started at 44.9995 (the loop's timers run on the monotonic clock,
    which the wall clock lagged), so the chaos page said 17:31:44. Here the wall clock runs 10 %
    slow: a single wait of the wall-clock gap would start every run early."""
    from prodshield.chaos.experiments import schedule

    real, t0 = time.time, time.time()

    class SlowWall:
        @staticmethod
        def time() -> float:
            return t0 + (real() - t0) * 0.9

    monkeypatch.setattr(schedule, "time", SlowWall)
    spec = ScheduledExperiment(name="tick", file="nope.json", schedule="* * * * * *")
    service = ScheduledExperiments([spec], tmp_path, store)
    starts: list[tuple[float, float]] = []  # (started, scheduled)

    def run_one(s: Any) -> int:
        starts.append((SlowWall.time(), service.next_at[s.name]))
        return 0

    service.run_one = run_one  # type: ignore[method-assign, assignment]

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(service.run(stop))
        while len(starts) < 2:
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(go())
    assert all(started >= scheduled for started, scheduled in starts), starts
