"""Check 3, pool exhaustion: request N+1 fails within the acquire timeout, new requests work
once the toxic is gone, and no connection leaks."""

from __future__ import annotations

import asyncio
import contextlib
import time

from prodshield.chaos.batteries.db.options import APP_NAME, DbOptions
from prodshield.chaos.batteries.db.setup import (
    Setup,
    activity_count,
    wait_count,
)
from prodshield.chaos.batteries.report import BatteryCheck, BatteryReport
from prodshield.text import plural


async def pool_test(opts: DbOptions, setup: Setup, report: BatteryReport) -> None:
    if opts.service:
        await _service_pool_test(opts, setup, report)
    else:
        await _direct_pool_test(opts, setup, report)


async def _direct_pool_test(opts: DbOptions, setup: Setup, report: BatteryReport) -> None:
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    app = f"{APP_NAME}-pool"
    t0 = time.monotonic()
    baseline = await activity_count(opts.dsn, app)
    n = opts.pool_size
    pool = AsyncConnectionPool(
        setup.proxy_dsn,
        min_size=n,
        max_size=n,
        timeout=opts.acquire_timeout,
        kwargs={"autocommit": True, "application_name": app, "connect_timeout": 2},
        open=False,
        reconnect_timeout=10,
    )
    await pool.open(wait=True, timeout=5)
    hold = max(1.0, opts.acquire_timeout * 2 + 0.5)

    async def holder() -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(hold), pool.connection() as conn:
                await conn.execute("SELECT 1")

    undo = await setup.inject("timeout", timeout_ms=0)
    holders = [asyncio.create_task(holder()) for _ in range(n)]
    await asyncio.sleep(0.2)
    started = time.monotonic()
    refused = False
    try:
        async with asyncio.timeout(opts.acquire_timeout + 2), pool.connection():
            pass
    except (PoolTimeout, TimeoutError):
        refused = True
    waited = time.monotonic() - started
    await asyncio.to_thread(undo)
    await asyncio.gather(*holders)
    removed = time.monotonic()
    recovered_in = None
    while time.monotonic() - removed < 3:
        try:
            async with pool.connection(timeout=0.5) as conn, asyncio.timeout(0.5):
                await conn.execute("SELECT 1")
            recovered_in = time.monotonic() - removed
            break
        except Exception:
            await asyncio.sleep(0.02)
    await pool.close(timeout=2)
    count, _ = await wait_count(opts.dsn, app, baseline, 3.0)
    _pool_checks(
        report,
        n,
        opts.acquire_timeout,
        refused,
        waited,
        recovered_in,
        (baseline, baseline),
        count,
        t0,
    )


def _pool_checks(
    report: BatteryReport,
    n: int,
    acquire_timeout: float | None,
    refused: bool,
    waited: float,
    recovered_in: float | None,
    sessions: tuple[int, int],
    count: int,
    t0: float,
) -> None:
    """``sessions``: the application's sessions before the test, and the most allowed after
    (the same for the battery's own pool, which it closes; a service's pool of N may keep N)."""
    before, allowed = sessions
    limit = (acquire_timeout or 0) + 0.5
    report.add(
        BatteryCheck(
            "pool exhaustion fails fast",
            refused and acquire_timeout is not None and waited <= limit,
            f"request {n + 1} with all {n} connections held: "
            + (f"refused after {waited:.2f} s" if refused else f"NOT refused ({waited:.2f} s)")
            + (
                f" (acquire timeout {acquire_timeout:g} s)"
                if acquire_timeout is not None
                else " (the pool has no acquire timeout)"
            ),
            {
                "pool_size": n,
                "acquire_timeout_s": acquire_timeout,
                "refused": refused,
                "waited_s": round(waited, 3),
            },
            duration=time.monotonic() - t0,
        )
    )
    report.add(
        BatteryCheck(
            "pool recovers",
            recovered_in is not None and recovered_in <= 1.0,
            "new requests work "
            + (f"{recovered_in:.2f} s after the toxic went" if recovered_in is not None else "NOT")
            + " (need <= 1 s)",
            {"recovered_in_s": None if recovered_in is None else round(recovered_in, 3)},
        )
    )
    report.add(
        BatteryCheck(
            "no leaked connections",
            count <= allowed,
            f"pg_stat_activity: {plural(count, 'session')} after, {before} before"
            + (f", at most {allowed} (a pool of {n})" if allowed != before else ""),
            {"sessions": count, "baseline": before, "allowed": allowed},
        )
    )


async def _service_pool_test(opts: DbOptions, setup: Setup, report: BatteryReport) -> None:
    import aiohttp

    assert opts.service is not None
    base = opts.service.rstrip("/")
    t0 = time.monotonic()
    async with aiohttp.ClientSession() as session:
        async with asyncio.timeout(5), session.get(f"{base}/pool") as resp:
            info = await resp.json()
        n = int(info["size"])
        acquire = info.get("acquire_timeout")
        app = str(info.get("application_name") or "")
        # a pool of N keeps up to N sessions: more than that afterwards is a leak
        before = await activity_count(opts.dsn, app) if app else 0
        allowed = max(n, before) if app else 0

        async def get(timeout: float) -> tuple[int | None, float]:
            started = time.monotonic()
            try:
                async with asyncio.timeout(timeout), session.get(f"{base}/accounts") as r:
                    await r.read()
                    return r.status, time.monotonic() - started
            except (aiohttp.ClientError, TimeoutError, OSError):
                return None, time.monotonic() - started

        undo = await setup.inject("timeout", timeout_ms=0)
        limit = (acquire or 0) + 0.5
        holders = [asyncio.create_task(get(limit + 2.0)) for _ in range(n)]
        await asyncio.sleep(0.15)
        status, waited = await get(limit + 1.0)
        refused = status is not None and status != 200
        await asyncio.to_thread(undo)
        removed = time.monotonic()
        recovered_in = None
        while time.monotonic() - removed < 3:
            code, _ = await get(1.0)
            if code == 200:
                recovered_in = time.monotonic() - removed
                break
            await asyncio.sleep(0.05)
        for task in holders:
            task.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
    count, _ = await wait_count(opts.dsn, app, allowed, 3.0) if app else (0, 0.0)
    _pool_checks(report, n, acquire, refused, waited, recovered_in, (before, allowed), count, t0)
