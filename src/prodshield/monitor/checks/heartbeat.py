"""``type: heartbeat``: passive; the job pings prodshield, and a ping missing past
``period + grace`` fails the check (kind ``timeout``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from prodshield.config.types import format_duration
from prodshield.monitor.checks.base import Observation
from prodshield.monitor.heartbeats import ensure_heartbeat, last_due
from prodshield.monitor.placeholders import PLACEHOLDERS
from prodshield.monitor.probe import Probe
from prodshield.monitor.target import Target


class HeartbeatCheck:
    type: ClassVar[str] = "heartbeat"
    example: ClassVar[dict[str, Any]] = {"type": "heartbeat", "period": "24h", "grace": "1h"}
    """A ``checks:`` entry of this type (without ``name``) that validates."""
    placeholders: ClassVar[frozenset[str]] = PLACEHOLDERS["heartbeat"]
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
        since = beat.last_ping if beat.last_ping is not None else beat.created_at or now
        late = now - since
        if cfg.schedule is not None:
            due = last_due(cfg.schedule, cfg.tz, now)
            # late: a run fell due more than grace ago and nothing has pinged since it was due
            is_late = now > due + cfg.grace and since < due
        else:
            allowed = cfg.period + cfg.grace
            is_late = late > allowed
        obs.details["last_ping"] = beat.last_ping
        obs.details["pings"] = beat.pings
        for key in ("exit_code", "duration_s", "started_at", "failed_at"):
            if getattr(beat, key) is not None:
                obs.details[key] = getattr(beat, key)
        if beat.output:
            obs.details["output"] = beat.output
        failed = beat.failed_at is not None and beat.failed_at > (beat.last_ping or 0.0)
        hung = beat.started_at is not None and now - beat.started_at > cfg.grace
        obs.facts["CONNECTED"] = beat.last_ping is not None and not is_late and not failed
        if beat.last_ping is None and not is_late and not failed:
            obs.details["waiting"] = True  # state "waiting for the first ping", not up
        obs.timings = {"total": (beat.duration_s or 0.0) * 1000.0}
        if failed:
            code = f" (exit code {beat.exit_code})" if beat.exit_code is not None else ""
            ran = (
                f" after {format_duration(beat.duration_s)}" if beat.duration_s is not None else ""
            )
            ago = format_duration(max(0.0, now - (beat.failed_at or now)))
            return obs.fail("condition", f"the job failed{code}{ran}, {ago} ago")
        if hung:
            obs.facts["CONNECTED"] = False
            started = format_duration(now - (beat.started_at or now))
            return obs.fail(
                "timeout",
                f"the job started {started} ago and has not finished (grace "
                f"{format_duration(cfg.grace)})",
            )
        if is_late and cfg.schedule is not None:
            zone = cfg.tz or "UTC"
            return obs.fail(
                "timeout",
                f"no success ping for the run due at "
                f"{_local(due, zone)} ({cfg.schedule!r} {zone}, grace {format_duration(cfg.grace)})",
            )
        if is_late:
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
        return obs


def _local(ts: float, zone: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
