"""The long-running scheduler: every target on its own interval, results written in batches.

- One timer loop over a heap of due times; each target's slots are ``phase + n * interval`` plus a
  little random jitter, with phases spread evenly (over the interval for many targets) so load is
  smooth.
- The same target never overlaps itself: a slot that comes while the previous run is still going
  is counted as missed, not queued.
- A bounded global concurrency, sized to at least 1.5 x ``sum(timeout / interval)`` (the most
  checks in flight when every target times out), so a slow target never delays the others.
- Results are buffered and written by one writer every ``flush_interval`` seconds (or sooner when
  ``flush_size`` are waiting), in a thread so the event loop never waits on the database.
- With a :class:`~prodshield.monitor.cluster.Cluster` (several instances on PostgreSQL), a
  coordinator thread runs one coordination round per heartbeat (a thread, so a busy event loop
  never makes the heartbeat late) and the loop runs only the targets
  this instance holds the lease of (:meth:`Scheduler.assign`); without one, every target is run.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import logging
import math
import random
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prodshield.monitor.incidents import IncidentEngine
from prodshield.monitor.probe import Probe
from prodshield.monitor.recorder import write_batch
from prodshield.monitor.result import CheckResult
from prodshield.monitor.run import GRACE, run_target
from prodshield.monitor.state import CheckState, StateBook
from prodshield.monitor.target import Target
from prodshield.store import Store

if TYPE_CHECKING:
    from prodshield.monitor.cluster import Assignment, Cluster

log = logging.getLogger("prodshield.monitor")
LAG_WINDOW = 100_000
"""Scheduling lags kept for the percentiles (/metrics): the last 100,000 to 200,000 runs."""

START_RATE = 100.0  # first runs per second when a small config starts
MAX_BUFFER = 200_000  # results kept while the store is unreachable
CLUSTER_TICK = 0.1  # with a cluster, the loop looks at newly assigned targets at least this often

ResultListener = Callable[[Sequence[CheckResult], Sequence[CheckState]], None]
"""Called (in the writer thread) after each batch is stored; incidents hook in here."""


def tune_gc() -> Callable[[], None]:
    """Keep the long-lived objects (config, targets) out of the cyclic GC's scans and collect young
    objects less often: checks make much short-lived garbage, and collections over every target
    stalled the event loop for hundreds of milliseconds. Returns the function that undoes it."""
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 20_000), thresholds[1], thresholds[2])

    def restore() -> None:
        gc.set_threshold(*thresholds)
        gc.unfreeze()

    return restore


def _shed_after(interval: float) -> float:
    """How late a slot may start before it is skipped (half a second to two seconds)."""
    return max(0.5, min(interval / 4, 2.0))


def required_concurrency(targets: Sequence[Target]) -> int:
    """The in-flight checks needed so that even all-timing-out targets keep their slots (the sum
    of ``timeout / interval``), with half again as headroom for bursts."""
    return math.ceil(1.5 * sum((t.timeout + GRACE) / t.interval for t in targets)) + 1


@dataclass
class SchedulerStats:
    started: int = 0
    completed: int = 0
    missed: int = (
        0  # slots the scheduler reached too late to start (it fell a whole interval behind)
    )
    overlapped: int = 0  # slots skipped because the target's previous run was still going
    failed: int = 0
    written: int = 0
    write_errors: int = 0
    last_write_error: str | None = None  # set while writes fail, cleared by the next that works
    listener_errors: int = 0
    max_in_flight: int = 0
    fenced: int = 0  # results dropped because another instance took the target's lease meanwhile
    acquired: int = 0  # leases taken (several instances)
    released: int = 0  # leases given back or lost
    coordination_errors: int = 0
    lags: array[float] = field(default_factory=lambda: array("d"))
    """Seconds late, one per started run: the most recent ``LAG_WINDOW`` to ``2 * LAG_WINDOW``
    (a service runs for months; its memory must not grow with every run)."""
    lag_max: float = 0.0  # over the whole run

    def lag_percentile(self, q: float, last: int | None = None) -> float | None:
        """The q-th percentile of the kept lags, or of the ``last`` runs only."""
        if not self.lags:
            return None
        data = sorted(self.lags[-last:] if last else self.lags)
        return float(data[min(len(data) - 1, max(0, math.ceil(q / 100 * len(data)) - 1))])


class Scheduler:
    def __init__(
        self,
        targets: Sequence[Target],
        probe: Probe,
        store: Store | None,
        *,
        concurrency: int = 0,
        flush_interval: float = 1.0,
        flush_size: int = 1000,
        jitter: float = 1.0,
        drain_timeout: float = 5.0,
        listeners: Sequence[ResultListener] = (),
        seed: int | None = None,
        incidents: IncidentEngine | None = None,
        cluster: Cluster | None = None,
        location: str | None = None,
    ) -> None:
        self.targets = list(targets)
        self.runs_per_s = sum(1.0 / t.interval for t in self.targets if t.interval > 0)
        self.probe = probe
        self.store = store
        self.cap = max(concurrency, required_concurrency(self.targets))
        self.flush_interval = flush_interval
        self.flush_size = flush_size
        self.jitter = jitter
        self.drain_timeout = drain_timeout
        self.listeners = list(listeners)
        self.incidents = incidents
        self.stats = SchedulerStats()
        self.book = StateBook()
        self._rng = random.Random(seed)
        self._running = [False] * len(self.targets)
        self._in_flight = 0
        self._waiting: deque[tuple[int, float]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._buffer: list[CheckResult] = []
        self._dirty: dict[tuple[str, str], CheckState] = {}
        self._flush_now = asyncio.Event()
        self._key_index: dict[tuple[str, str], int] = {}
        self._again: set[int] = set()
        self._closing = False
        self.cluster = cluster
        self.origin: dict[str, str | None] | None = (
            {"instance": cluster.id if cluster else None, "location": location}
            if cluster is not None or location
            else None
        )
        if cluster is not None:
            # A killed instance loses what it has not written: keep that short.
            self.flush_interval = min(flush_interval, 0.5)
        self._heap: list[tuple[float, int, int]] = []
        self._base = [0.0] * len(self.targets)
        self._gen = [0] * len(self.targets)  # bumped when a target is (re)assigned or released
        self._last_start = [0.0] * len(self.targets) if cluster is not None else []
        """Wall time of each target's last run started here (several instances)."""
        self._index = (
            {tg.key: i for i, tg in enumerate(self.targets)} if cluster is not None else {}
        )

    # --- timing -------------------------------------------------------------------------------

    def _phases(self, start: float, indexes: Sequence[int] | None = None) -> list[float]:
        """First slot of each target (of ``indexes``, default all): spread evenly among the targets
        sharing an interval, over that interval or, for few targets, over less (at most START_RATE
        first runs a second), so a small config shows results at once and a large one never
        starts in a burst."""
        chosen = range(len(self.targets)) if indexes is None else indexes
        groups: dict[float, list[int]] = {}
        for k, i in enumerate(chosen):
            groups.setdefault(self.targets[i].interval, []).append(k)
        first = [start] * len(chosen)
        for interval, members in groups.items():
            n = len(members)
            window = min(interval, n / START_RATE)
            for rank, k in enumerate(members):
                first[k] = start + window * rank / n
        return first

    def _jitter(self, interval: float) -> float:
        return self._rng.uniform(0.0, min(self.jitter, interval * 0.01)) if self.jitter else 0.0

    # --- running --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None, duration: float | None = None) -> None:
        """Run until ``stop`` is set (or ``duration`` seconds pass), then drain and flush."""
        if self.store is not None:
            await asyncio.to_thread(self.book.load, self.store)
        stop = stop or asyncio.Event()
        self.probe.prepare(self.targets)
        coordinator: threading.Thread | None = None
        halt = threading.Event()
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.join)
            self.assign(await asyncio.to_thread(self.cluster.round))
            coordinator = threading.Thread(
                target=self._coordinate,
                args=(asyncio.get_running_loop(), halt),
                name="prodshield-coordinator",
                daemon=True,
            )
            coordinator.start()
        restore_gc = tune_gc()
        loop_task = asyncio.create_task(self._loop())
        writer_task = asyncio.create_task(self._writer())
        try:
            if duration is not None:
                try:
                    await asyncio.wait_for(stop.wait(), duration)
                except TimeoutError:
                    pass
            else:
                await stop.wait()
        finally:
            loop_task.cancel()
            await asyncio.gather(loop_task, return_exceptions=True)
            await self._drain()
            # Let the writer finish the batch it may be writing (cancelling would lose track of it).
            self._closing = True
            self._flush_now.set()
            await asyncio.gather(writer_task, return_exceptions=True)
            await self.flush()
            restore_gc()
            if coordinator is not None and self.cluster is not None:
                # The leases were renewed until every result was written; now give them back.
                halt.set()
                await asyncio.to_thread(coordinator.join)
                try:
                    await asyncio.to_thread(self.cluster.leave)
                except Exception:  # the others take over when the leases expire
                    self.stats.coordination_errors += 1

    async def _drain(self) -> None:
        """Let the runs in flight finish (for up to ``drain_timeout``), then stop the rest."""
        self._waiting.clear()
        if self._tasks:
            longest = max((t.timeout for t in self.targets), default=1.0) + GRACE
            wait = min(longest, self.drain_timeout)
            _, pending = await asyncio.wait(set(self._tasks), timeout=wait)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    # --- several instances ----------------------------------------------------------------------

    def _coordinate(self, loop: asyncio.AbstractEventLoop, halt: threading.Event) -> None:
        """One coordination round per heartbeat (renew, rebalance), applied on the loop."""
        assert self.cluster is not None
        period = self.cluster.heartbeat
        next_at = time.monotonic() + period
        while not halt.wait(max(0.0, next_at - time.monotonic())):
            next_at = max(next_at + period, time.monotonic())
            try:
                assignment = self.cluster.round()
            except Exception as exc:  # unreachable store: our leases lapse, our writes are fenced
                self.stats.coordination_errors += 1
                self.cluster.round_errors += 1
                if self.stats.coordination_errors in (1, 10) or not (
                    self.stats.coordination_errors % 100
                ):
                    log.warning(
                        "coordination round failed (%d so far): %s",
                        self.stats.coordination_errors,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    )
                continue
            try:
                loop.call_soon_threadsafe(self.assign, assignment)
            except RuntimeError:  # the loop has closed
                return

    def _push(self, i: int, slot: float) -> None:
        self._base[i] = slot
        heapq.heappush(self._heap, (slot + self._jitter(self.targets[i].interval), i, self._gen[i]))

    def assign(self, assignment: Assignment) -> None:
        """Start running the targets just acquired, stop the ones released (on the loop thread).

        A target taken over keeps its rhythm: its first run here comes one interval after its
        last stored result (at once if that is past: the previous owner died)."""
        loop = asyncio.get_running_loop()
        now, wall = loop.time(), time.time()
        for key in assignment.released:
            i = self._index.get(key)
            if i is not None:
                self._gen[i] += 1  # its heap entry is now stale
                self.stats.released += 1
        overdue: list[int] = []
        for key, last_ts in assignment.acquired.items():
            i = self._index.get(key)
            if i is None:
                continue
            self._gen[i] += 1
            self.stats.acquired += 1
            interval = self.targets[i].interval
            # A run started here may not be stored yet (a lease lost and won back meanwhile).
            last_ts = max(last_ts or 0.0, self._last_start[i]) or None
            if last_ts is not None and last_ts + interval > wall:
                self._push(i, now + min(interval, last_ts + interval - wall))
            else:
                overdue.append(i)
        for i, slot in zip(overdue, self._phases(now, overdue), strict=True):
            self._push(i, slot)

    # --- the timer loop ----------------------------------------------------------------------------

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        heap = self._heap
        base = self._base
        gen = self._gen
        tick = None if self.cluster is None else CLUSTER_TICK
        if self.cluster is None:
            phases = self._phases(now)
            heap[:] = [
                (slot + self._jitter(self.targets[i].interval), i, 0)
                for i, slot in enumerate(phases)
            ]
            base[:] = phases
            heapq.heapify(heap)
        while heap or tick is not None:
            if not heap:
                await asyncio.sleep(tick or 0.0)
                continue
            due, i, g = heap[0]
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay if tick is None else min(delay, tick))
                continue
            heapq.heappop(heap)
            if g != gen[i]:  # released or rescheduled since this entry was pushed
                continue
            target = self.targets[i]
            nxt = base[i] + target.interval
            now = loop.time()
            while nxt <= now:  # the loop itself fell behind: count the slots it could not start
                nxt += target.interval
                self.stats.missed += 1
            base[i] = nxt
            heapq.heappush(heap, (nxt + self._jitter(target.interval), i, g))
            if self._running[i]:
                self.stats.overlapped += 1
                continue
            if now - due > _shed_after(target.interval):
                # Overloaded (the process gets less CPU than the checks need): skip the slot and
                # count it, rather than start a run whose answer would be read too late and be
                # reported as a false timeout.
                self.stats.missed += 1
                continue
            self._running[i] = True
            if self._in_flight < self.cap:
                self._start(i, due)
            else:
                self._waiting.append((i, due))

    def run_now(self, key: tuple[str, str]) -> bool:
        """Run target ``key`` (check, environment) at once, outside its slots (on the loop
        thread): a heartbeat's ``/fail`` or a late ping changes its state when it arrives, not
        at the next slot. The slots stay as they were. A run already in flight runs once more
        after it ends (it may have read the store before the signal). False when this instance
        does not run the target (another instance's, or not a target of this config)."""
        if not self._key_index:
            self._key_index = {tg.key: i for i, tg in enumerate(self.targets)}
        i = self._key_index.get(key)
        if i is None or self._closing:
            return False
        if self.cluster is not None and key not in self.cluster.owned:
            return False
        if self._running[i]:
            self._again.add(i)
            return True
        self._running[i] = True
        due = asyncio.get_running_loop().time()
        if self._in_flight < self.cap:
            self._start(i, due)
        else:
            self._waiting.append((i, due))
        return True

    def _start(self, i: int, due: float) -> None:
        if self._last_start:
            self._last_start[i] = time.time()
        self._in_flight += 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
        task = asyncio.create_task(self._run_one(i, due))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_one(self, i: int, due: float) -> None:
        loop = asyncio.get_running_loop()
        lag = max(0.0, loop.time() - due)
        if lag > _shed_after(self.targets[i].interval):
            # The loop stalled between the slot's dispatch and this start (CPU starvation): a run
            # now would follow the previous one too closely and read its answer too late.
            self.stats.missed += 1
            self._finish(i)
            return
        self.stats.started += 1
        stats = self.stats
        stats.lags.append(lag)
        if lag > stats.lag_max:
            stats.lag_max = lag
        if len(stats.lags) >= 2 * LAG_WINDOW:
            del stats.lags[:LAG_WINDOW]
        try:
            result = await run_target(self.targets[i], self.probe)
            self.stats.completed += 1
            if not result.ok:
                self.stats.failed += 1
            self._dirty[(result.check, result.environment)] = self.book.apply(result)
            self._buffer.append(result)
            if len(self._buffer) >= self.flush_size:
                self._flush_now.set()
        finally:
            self._finish(i)

    def _finish(self, i: int) -> None:
        self._running[i] = False
        self._in_flight -= 1
        if i in self._again:
            self._again.discard(i)
            self.run_now(self.targets[i].key)
        while self._waiting and self._in_flight < self.cap:
            j, d = self._waiting.popleft()
            self._start(j, d)

    # --- writing ----------------------------------------------------------------------------------

    async def _writer(self) -> None:
        while not self._closing:
            try:
                await asyncio.wait_for(self._flush_now.wait(), self.flush_interval)
            except TimeoutError:
                pass
            self._flush_now.clear()
            await self.flush()

    def _write(self, store: Store, results: list[CheckResult], states: list[CheckState]) -> int:
        if self.cluster is None:
            return write_batch(store, results, states, self.incidents, origin=self.origin)
        with self.cluster.mutex:
            return write_batch(
                store,
                results,
                states,
                self.incidents,
                owner=self.cluster.id,
                origin=self.origin,
                witness=self.cluster.witness,
            )

    async def flush(self) -> None:
        """Write what is buffered (results and changed states) in one transaction."""
        if not self._buffer:
            return
        results, self._buffer = self._buffer, []
        states = [
            CheckState(**{f: getattr(s, f) for f in CheckState.__slots__})  # a snapshot
            for s in self._dirty.values()
        ]
        self._dirty = {}
        if self.store is not None:
            try:
                dropped = await asyncio.to_thread(self._write, self.store, results, states)
                self.stats.written += len(results) - dropped
                self.stats.fenced += dropped
                if self.stats.last_write_error is not None:
                    log.warning("monitor: results are stored again")
                    self.stats.last_write_error = None
            except Exception as exc:
                self.stats.write_errors += 1
                message = (
                    f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
                )
                if self.stats.last_write_error is None:
                    log.warning(
                        "monitor: cannot store results (%s); keeping up to %d in memory",
                        message,
                        MAX_BUFFER,
                    )
                self.stats.last_write_error = message
                # Keep the results for the next attempt rather than losing them (bounded).
                self._buffer[:0] = results[-MAX_BUFFER:]
                del self._buffer[: max(0, len(self._buffer) - MAX_BUFFER)]
                for st in states:
                    self._dirty.setdefault((st.check, st.environment), st)
                return
        for listener in self.listeners:
            try:
                await asyncio.to_thread(listener, results, states)
            except Exception:  # a failing listener must not stop the writes
                self.stats.listener_errors += 1


async def run_scheduler(
    targets: Sequence[Target],
    probe: Probe,
    store: Store | None,
    *,
    stop: asyncio.Event | None = None,
    duration: float | None = None,
    concurrency: int = 0,
) -> SchedulerStats:
    scheduler = Scheduler(targets, probe, store, concurrency=concurrency)
    await scheduler.run(stop, duration)
    return scheduler.stats
