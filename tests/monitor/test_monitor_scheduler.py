"""The scheduler against a real HTTP server: no overlap, slow targets never delay others, batched
writes to the store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from prodshield.config.schema import ShieldConfig
from prodshield.monitor.expand import expand_checks
from prodshield.monitor.probe import Probe
from prodshield.monitor.result import CheckResult
from prodshield.monitor.scheduler import Scheduler, required_concurrency
from prodshield.monitor.state import CheckState
from prodshield.monitor.target import Target
from prodshield.store import Store
from prodshield.store import tables as t
from support.monitor import http_server


def targets(checks: list[dict[str, Any]], **config: Any) -> list[Target]:
    return expand_checks(ShieldConfig.model_validate({"checks": checks, **config}))


async def test_a_target_never_overlaps_itself() -> None:
    async with http_server() as base:
        ts = targets(
            [
                {
                    "name": "slow",
                    "type": "http",
                    "url": f"{base}/slow?s=0.6",
                    "interval": "200ms",
                    "timeout": "2s",
                }
            ]
        )
        async with Probe() as probe:
            s = Scheduler(ts, probe, None, drain_timeout=1.0)
            await s.run(duration=1.5)
    # Runs take 0.6 s and slots come every 0.2 s: at most one run at a time.
    assert s.stats.max_in_flight == 1
    assert 2 <= s.stats.started <= 3
    assert s.stats.overlapped >= 3 and s.stats.missed == 0


async def test_slow_targets_do_not_delay_others() -> None:
    async with http_server() as base:
        slow = [
            {
                "name": f"slow{i}",
                "type": "http",
                "url": f"{base}/slow?s=10",
                "interval": "1s",
                "timeout": "5s",
            }
            for i in range(40)
        ]
        fast = {
            "name": "fast",
            "type": "http",
            "url": f"{base}/ok",
            "interval": "100ms",
            "timeout": "1s",
        }
        # A tiny configured concurrency: the scheduler still allows what the timeouts require.
        ts = targets([*slow, fast], defaults={"concurrency": 1})
        assert required_concurrency(ts) > 40
        async with Probe() as probe:
            s = Scheduler(ts, probe, None, drain_timeout=0.2)
            await s.run(duration=2.0)
        fast_runs = [r for r in s.book.states.values() if r.check == "fast"]
    assert s.stats.max_in_flight >= 40  # every slow target hangs at once...
    assert fast_runs and fast_runs[0].consecutive_successes >= 12  # ...and fast keeps its pace
    p99 = s.stats.lag_percentile(99)
    assert p99 is not None and p99 < 0.25  # generous: starts are not queued behind slow ones


async def test_results_are_written_in_batches(store: Store) -> None:
    batches: list[int] = []

    def listener(results: Sequence[CheckResult], states: Sequence[CheckState]) -> None:
        batches.append(len(results))

    async with http_server() as base:
        ts = targets(
            [
                {"name": f"c{i}", "type": "http", "url": f"{base}/ok", "interval": "100ms"}
                for i in range(10)
            ]
        )
        async with Probe(store) as probe:
            s = Scheduler(ts, probe, store, flush_interval=0.3, listeners=[listener])
            await s.run(duration=1.2)
    with store.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(t.check_results)).scalar_one()
        states = conn.execute(select(t.check_state)).all()
        one = conn.execute(select(t.check_results).limit(1)).one()
    assert one.ok and one.error_kind is None
    assert one.conditions == [{"expr": "[STATUS] < 400", "ok": True, "actual": "200"}]
    assert one.timings["total"] > 0 and "first_byte" in one.timings
    assert rows == s.stats.completed == s.stats.written == sum(batches)
    assert rows >= 50
    assert len(batches) <= 8  # about one write per flush interval, not one per result
    assert len(states) == 10
    assert all(st.status == "up" and st.consecutive_successes >= 5 for st in states)
