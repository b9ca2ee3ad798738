"""A short-lived cache of rendered responses (the checks list, the public status page and, with
a ttl of 0, ``/metrics``).

With 10,000 checks, building either costs tens of milliseconds of Python; a body is reused for
``ttl`` seconds (5 by default, so what is shown is at most that old), dropped at once when this
process changes state (acknowledge, resolve, config reload), and rebuilt by one request at a time
while the others keep getting the previous body (or, with none yet, wait for that rebuild and share
it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Entry:
    built_at: float
    generation: int
    body: bytes


class ResponseCache:
    def __init__(
        self, ttl: float = 5.0, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 256
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.max_keys = max_keys
        self._entries: dict[Hashable, _Entry] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self._generation = 0
        self.hits = 0
        self.misses = 0

    def invalidate(self) -> None:
        """Every cached body is stale from now on."""
        with self._guard:
            self._generation += 1

    def _fresh(self, entry: _Entry | None) -> bool:
        return (
            entry is not None
            and entry.generation == self._generation
            and self.clock() - entry.built_at < self.ttl
        )

    def fresh(self, key: Hashable) -> bytes | None:
        """The body kept for ``key`` when it is still fresh, else None; never waits (the web
        app answers a fresh body on the event loop, without queueing for a page worker)."""
        entry = self._entries.get(key)
        if not self._fresh(entry):
            return None
        assert entry is not None
        self.hits += 1
        return entry.body

    def get(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        arrived = self.clock()
        entry = self._entries.get(key)
        if self._fresh(entry):
            self.hits += 1
            assert entry is not None
            return entry.body
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                if len(self._locks) >= self.max_keys:
                    self._locks.clear()
                    self._entries.clear()
                lock = self._locks[key] = threading.Lock()
        stale_ok = entry is not None and entry.generation == self._generation
        if stale_ok and not lock.acquire(blocking=False):
            assert entry is not None
            self.hits += 1
            return entry.body  # another request is rebuilding it
        if not stale_ok:
            lock.acquire()
        try:
            entry = self._entries.get(key)
            # built while this request waited (started after it arrived): fresh enough for it
            if self._fresh(entry) or (
                entry is not None
                and entry.generation == self._generation
                and entry.built_at >= arrived
            ):
                assert entry is not None
                return entry.body
            generation = self._generation
            started = self.clock()
            body = build()
            self._entries[key] = _Entry(started, generation, body)
            self.misses += 1
            return body
        finally:
            lock.release()
