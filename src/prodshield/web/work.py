"""Page work (store reads and renders) on a few threads of its own, bounded, so the probes and
the event loop keep answering while heavy pages are hammered.

Under ``serve``, everything Python does holds the interpreter lock: rendering a dashboard page or
the check list, encoding ``/metrics``, reading rows. Run on Starlette's shared pool (40 threads),
200 clients loading those pages kept 40 threads fighting the event loop for the lock and queued
everything else behind them: ``/healthz`` took up to a second and ``/readyz`` (a store read on the
same pool) 8 to 9 seconds, past the kubelet's default 1 s timeout (``benchmarks/web.py --probes``).

So heavy pages run here, on ``workers`` threads (more would not render faster: the lock lets one
run at a time, and each extra thread delays the loop), with at most ``queue`` more requests
waiting for one. A request over that, or one that waited longer than ``max_wait`` seconds, is
answered ``503`` with ``Retry-After`` at once instead of piling up (:class:`Overloaded`). The
probes never come here: ``/healthz`` answers on the loop and ``/readyz`` has its own thread
(:class:`Probe`). Writes have a pool of their own, bounded the same way (:func:`write_work`), so
a flood of page reads never holds up an acknowledgement, nor a burst of writes the pages.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

RETRY_AFTER = 5
"""Seconds an overloaded answer asks the client to wait (as the connection limits' 503)."""
RECENT = 300.0
"""Refusals stay on /readyz this long, and /readyz counts those of this window."""


class Recent:
    """Events of the last ``window`` seconds, counted per second (a refusal flood costs one
    entry a second): what /readyz says "in the last 5 minutes" is this count, not a total."""

    def __init__(self, window: float = RECENT, clock: Callable[[], float] = time.time) -> None:
        self.window = window
        self._clock = clock
        self._seconds: deque[list[int]] = deque()
        """``[second, count]``, oldest first."""

    def add(self) -> None:
        second = int(self._clock())
        if self._seconds and self._seconds[-1][0] == second:
            self._seconds[-1][1] += 1
        else:
            self._seconds.append([second, 1])

    def count(self) -> int:
        since = self._clock() - self.window
        while self._seconds and self._seconds[0][0] < since:
            self._seconds.popleft()
        return sum(count for _, count in self._seconds)


class Overloaded(Exception):
    """Too much page work queued: the request is answered 503 with Retry-After."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.retry_after = RETRY_AFTER


class PageWork:
    """A bounded pool for the work of heavy pages (see the module's docstring); ``kind`` names
    what it runs (``page``, or ``write`` for the pool of :func:`write_work`)."""

    def __init__(
        self, workers: int = 2, queue: int = 64, max_wait: float = 10.0, kind: str = "page"
    ) -> None:
        self.kind = kind
        self.workers = max(1, workers)
        self.queue = max(0, queue)
        self.max_wait = max_wait
        self._pool: ThreadPoolExecutor | None = None
        self.admitted = 0
        """Requests running or waiting for a worker (changed on the event loop only)."""
        self.running = 0
        self.refused = 0
        """Requests answered 503 since start (over the queue, or waited too long)."""
        self.last_refused: float | None = None
        self.recent = Recent()
        """Refusals of the last :data:`RECENT` seconds (what /readyz counts)."""
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on a worker; raise :class:`Overloaded` when the queue is full
        or the call waited ``max_wait`` for a worker."""
        if self.admitted >= self.workers + self.queue:
            self._refuse()
            raise Overloaded(f"{self.admitted} requests in progress or waiting")
        self.admitted += 1
        try:
            job = functools.partial(self._timed, time.monotonic(), fn, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._executor(), job)
        except Overloaded:
            self._refuse()
            raise
        finally:
            self.admitted -= 1

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            prefix = f"prodshield-{self.kind}"
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=prefix)
        return self._pool

    def _timed(self, queued: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if time.monotonic() - queued > self.max_wait:
            raise Overloaded(f"waited more than {self.max_wait:g} s for a worker")
        with self._lock:
            self.running += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with self._lock:
                self.running -= 1

    def _refuse(self) -> None:
        self.refused += 1
        self.last_refused = time.time()
        self.recent.add()

    def close(self) -> None:
        """Stop the threads once the work given to them is done; what still waits is dropped
        (a later request starts new ones: an app may be started again, as tests do)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def problems(self) -> dict[str, str]:
        """For /readyz: requests refused in the last five minutes, and how many (the total
        since start is on /metrics)."""
        recent = self.recent.count()
        if not recent:
            return {}
        key = "web:overloaded" if self.kind == "page" else f"web:{self.kind}s-overloaded"
        return {
            key: f"{recent} {self.kind} request(s) answered 503 in the last 5 minutes "
            f"(limits: {self.workers} workers, {self.queue} waiting); "
            f"{self.admitted} in progress or waiting now"
        }


def write_work(workers: int = 2, queue: int = 1000) -> PageWork:
    """The pool of the write routes (POST and DELETE: acknowledge, note, silence, deploy marks,
    heartbeat pings, subscriptions...). Each write takes the store's write lock (SQLite: one
    writer at a time), so on Starlette's 40 threads a burst of writes was 40 threads queueing on
    that lock and fighting the event loop for the interpreter: a few threads write as fast, and
    the probes stay prompt. The queue is long (a burst of cron jobs pinging at the top of the
    hour waits its turn rather than being refused), and a write waits up to 30 s."""
    return PageWork(workers, queue, max_wait=30.0, kind="write")


class Probe:
    """``/readyz``'s store check on a thread of its own, one at a time: requests that arrive
    while a check runs share its outcome, so probes never wait behind page work and a flood of
    them costs one check at a time."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._running: asyncio.Future[Any] | None = None
        self.shared = 0
        """Probes answered with a check another probe started (tests read it)."""

    async def run(self, fn: Callable[[], T]) -> T:
        if self._running is None or self._running.done():
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="prodshield-probe")
            self._running = asyncio.get_running_loop().run_in_executor(self._pool, fn)
        else:
            self.shared += 1
        # shielded: a probe that hangs up must not cancel the check the others wait for
        result: T = await asyncio.shield(self._running)
        return result

    def close(self) -> None:
        pool, self._pool = self._pool, None
        self._running = None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
