"""Heartbeats as cron monitors, against a real store: cron schedules in a time zone, start/fail
signals, hung runs, the run time and the masked output tail."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from prodshield.monitor.heartbeats import (
    ensure_heartbeat,
    find_by_token,
    last_due,
    parse_signal,
    record_signal,
    redact_output,
)
from prodshield.monitor.probe import Probe
from prodshield.monitor.run import run_target
from prodshield.store import Store
from prodshield.store import tables as tb
from support.monitor import target


def test_last_due_follows_the_time_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    now = datetime(2026, 7, 1, 12, 0, tzinfo=paris).timestamp()
    due = datetime.fromtimestamp(last_due("0 3 * * *", "Europe/Paris", now), paris)
    assert (due.day, due.hour, due.minute) == (1, 3, 0)
    utc = datetime.fromtimestamp(last_due("0 3 * * *", None, now), ZoneInfo("UTC"))
    assert utc.hour == 3 and due.timestamp() != utc.timestamp()  # 03:00 Paris is 01:00 UTC


def test_signals() -> None:
    assert parse_signal(None) == ("success", None) == parse_signal("")
    assert parse_signal("0") == ("success", 0)
    assert parse_signal("3") == ("fail", 3)
    assert parse_signal("start") == ("start", None)
    assert parse_signal("fail") == ("fail", None)
    for bad in ("256", "-1", "banana", "1000"):
        assert parse_signal(bad) is None


def test_output_is_masked_quickly_whatever_its_shape() -> None:
    secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    text = "x" * 9000 + f" token={secret} " + "y" * 1000 + "\n"
    t0 = time.perf_counter()
    out = redact_output(text)
    assert time.perf_counter() - t0 < 5.0  # the masking pass alone takes ~10 s on one long line
    assert secret not in out and "token=" in out and out.endswith("y\n")


async def test_scheduled_job_late_failed_hung_and_back(store: Store) -> None:
    async with Probe(store) as probe:
        t = target(
            {
                "name": "nightly",
                "type": "heartbeat",
                "schedule": "* * * * *",  # due every minute: always "a run fell due"
                "tz": "Europe/Paris",
                "grace": "1s",
            }
        )
        beat = ensure_heartbeat(store, "nightly")
        due = last_due("* * * * *", "Europe/Paris", time.time())
        with store.begin() as conn:  # created before the last due time: that run is missing
            conn.execute(tb.heartbeats.update().values(created_at=due - 120))
        if time.time() < due + 1.5:
            time.sleep(due + 1.5 - time.time())
        late = await run_target(t, probe)
        assert not late.ok and late.error is not None and late.error.kind == "timeout"
        assert "no success ping for the run due at" in late.error.message
        assert "'* * * * *' Europe/Paris" in late.error.message

        assert record_signal(store, beat.token, "start") == ("nightly", "")
        time.sleep(0.2)
        assert record_signal(store, beat.token, "success", 0) == ("nightly", "")
        ok = await run_target(t, probe)
        assert ok.ok, ok.error
        row = find_by_token(store, beat.token)
        assert row is not None and row.duration_s is not None and row.duration_s >= 0.2
        assert ok.response_time_ms is not None and ok.response_time_ms >= 200  # the run time

        record_signal(store, beat.token, "start")
        record_signal(store, beat.token, "fail", 2, "line 1\npassword=hunter2-very-secret\n")
        failed = await run_target(t, probe)
        assert failed.error is not None and "the job failed (exit code 2)" in failed.error.message
        row = find_by_token(store, beat.token)
        assert row is not None and row.output is not None
        assert "hunter2-very-secret" not in row.output and row.output.startswith("line 1\n")

        record_signal(store, beat.token, "success")
        record_signal(store, beat.token, "start", now=time.time() - 5)
        hung = await run_target(t, probe)
        assert hung.error is not None and hung.error.kind == "timeout"
        assert "has not finished" in hung.error.message
        assert record_signal(store, "no-such-token-000000", "start") is None
