"""``type: heartbeat``: passive; the job pings prodshield, and a ping missing past
``period + grace`` fails the check (kind ``timeout``)."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from prodshield.config.types import format_duration
from prodshield.monitor.checks.base import Observation
from prodshield.monitor.heartbeats import ensure_heartbeat
from prodshield.monitor.probe import Probe
from prodshield.monitor.target import Target


class HeartbeatCheck:
    type: ClassVar[str] = "heartbeat"
    placeholders: ClassVar[frozenset[str]] = frozenset({"CONNECTED"})
    default_conditions: ClassVar[tuple[str, ...]] = ()

    async def observe(self, target: Target, probe: Probe) -> Observation:
        cfg = target.check
        obs = Observation()
        if probe.store is None:
            return obs.fail("protocol", "heartbeat checks need the store")
        beat = await asyncio.to_thread(
            ensure_heartbeat, probe.store, target.name, target.environment
        )
        now = time.time()
        allowed = cfg.period + cfg.grace
        since = beat.last_ping if beat.last_ping is not None else beat.created_at or now
        late = now - since
        obs.facts["CONNECTED"] = beat.last_ping is not None and late <= allowed
        obs.details["last_ping"] = beat.last_ping
        obs.details["pings"] = beat.pings
        if beat.last_ping is None and late <= allowed:
            obs.details["waiting"] = True  # state "waiting for the first ping", not up
        if late > allowed:
            if beat.last_ping is None:
                obs.fail(
                    "timeout", f"no ping since the check was created {format_duration(late)} ago"
                )
            else:
                obs.fail(
                    "timeout",
                    f"last ping {format_duration(late)} ago (period {format_duration(cfg.period)} "
                    f"+ grace {format_duration(cfg.grace)})",
                )
        obs.timings = {"total": 0.0}
        return obs
