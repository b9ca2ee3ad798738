"""Keeping ``check_hourly`` current so the web reads aggregates, never millions of raw rows.

The monitor writes raw results; :func:`rollup_pending` recomputes the hourly aggregates of every
hour since the last run (the current, partial hour included) and records how far it got. The
status page and the API read only aggregates, so they answer in the same time with 10 checks or
10,000. ``prodshield serve`` runs :class:`RollupService` every minute; ``status build`` calls
:func:`rollup_pending` once before rendering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy import func, select

from prodshield.store import Store, rollup
from prodshield.store import tables as t
from prodshield.store.retention import ROLLUP_WATERMARK

WATERMARK = ROLLUP_WATERMARK
LATE = 120.0
"""Results may be stored this long after their timestamp; the hour before is re-rolled that long."""
MAX_SPAN = 90 * 86400.0

log = logging.getLogger(__name__)


def rollup_pending(store: Store, now: float | None = None) -> int:
    """Roll raw results up into ``check_hourly`` from the last watermark to ``now``; return hours."""
    now = time.time() if now is None else now
    mark = store.kv_get(*WATERMARK)
    if isinstance(mark, int | float):
        start = float(mark) - LATE
    else:
        with store.connect() as conn:
            oldest = conn.execute(
                select(func.min(t.check_results.c.ts)).where(t.check_results.c.ts >= now - MAX_SPAN)
            ).scalar()
        if oldest is None:
            store.kv_set(*WATERMARK, now)
            return 0
        start = float(oldest)
    hours = rollup(store, start, now)
    store.kv_set(*WATERMARK, now)
    return hours


class RollupService:
    """Background service: :func:`rollup_pending` every ``interval`` seconds."""

    name = "rollup"

    def __init__(self, store: Store, interval: float = 60.0) -> None:
        self.store = store
        self.interval = interval
        self.runs = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(rollup_pending, self.store)
                self.runs += 1
            except Exception as exc:  # a store hiccup must not end the service
                log.warning("rollup failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
