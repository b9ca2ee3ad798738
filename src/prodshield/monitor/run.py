"""Run one target once: observe, evaluate the conditions, decide ok/failed and why."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from prodshield.conditions import Facts, evaluate
from prodshield.monitor.checks import REGISTRY
from prodshield.monitor.checks.base import Observation
from prodshield.monitor.failures import classify
from prodshield.monitor.probe import Probe
from prodshield.monitor.result import CheckError, CheckResult
from prodshield.monitor.target import Target
from prodshield.secrets.redaction import redact_text

# A check gets this long past its own timeout before the runner gives up on it (a backstop: each
# check type bounds its own network waits).
GRACE = 1.0


async def run_target(target: Target, probe: Probe) -> CheckResult:
    """Probe ``target`` once; never raises for a bad target, never outlives its timeout by much."""
    check = REGISTRY[target.type]
    ts = time.time()
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(target.timeout + GRACE):
            obs = await check.observe(target, probe)
    except Exception as exc:  # a bug or an unforeseen failure still yields a result
        obs = Observation()
        obs.error = classify(exc, target.timeout)
    elapsed = (time.perf_counter() - t0) * 1000.0
    total = obs.timings.get("total")
    response_ms = total if total is not None else elapsed
    obs.timings.setdefault("total", response_ms)
    obs.facts["RESPONSE_TIME"] = response_ms
    facts = Facts(obs.facts)
    outcomes = [evaluate(c, facts) for c in target.conditions]
    failed = [o for o in outcomes if not o.ok]
    error = obs.error
    if error is None and failed:
        error = CheckError("condition", "; ".join(o.describe() for o in failed))
    elif (
        error is not None
        and not failed
        and obs.facts.get("CONNECTED") is False
        and "CONNECTED" in target.uses
    ):
        # The conditions expected this (e.g. "[CONNECTED] == false" for a port that must be shut).
        error = None
    if obs.secrets:
        outcomes = [
            replace(o, actual=redact_text(o.actual, obs.secrets)) if o.actual else o
            for o in outcomes
        ]
        if error is not None:
            error = CheckError(error.kind, redact_text(error.message, obs.secrets))
    return CheckResult(
        check=target.name,
        environment=target.environment,
        ts=ts,
        ok=error is None,
        error=error,
        response_time_ms=response_ms,
        conditions=outcomes,
        timings=obs.timings,
        details=obs.details,
    )
