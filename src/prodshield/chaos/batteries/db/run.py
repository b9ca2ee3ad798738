"""Running the battery: its checks in order around one setup, on uvloop where installed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prodshield.chaos.batteries.db.bank import bank_test
from prodshield.chaos.batteries.db.mid_transaction import mid_transaction_test
from prodshield.chaos.batteries.db.options import DbOptions
from prodshield.chaos.batteries.db.pool import pool_test
from prodshield.chaos.batteries.db.setup import Setup, upstream
from prodshield.chaos.batteries.report import BatteryReport


async def run_db_battery_async(opts: DbOptions) -> BatteryReport:
    import logging

    # psycopg warns about every connection the faults break: the report has the numbers
    for name in ("psycopg", "psycopg.pool"):
        logging.getLogger(name).addHandler(logging.NullHandler())
        logging.getLogger(name).propagate = False
    report = BatteryReport(
        "db",
        opts.service or upstream(opts.dsn),
        parameters={
            "seconds": opts.seconds,
            "seed": opts.seed,
            "workers": opts.workers,
            "proxy": opts.proxy,
            "service": opts.service,
        },
    )
    setup = await asyncio.to_thread(Setup, opts)
    try:
        if "bank" in opts.checks:
            await bank_test(opts, setup, report)
        if "mid-transaction" in opts.checks:
            await mid_transaction_test(opts, setup, report)
        if "pool" in opts.checks:
            await pool_test(opts, setup, report)
    finally:
        await asyncio.to_thread(setup.close)
        report.ended = time.time()
    return report


def _run(coro: Any) -> Any:
    """asyncio.run, on uvloop where it is installed (the client side costs less CPU)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_db_battery(opts: DbOptions) -> BatteryReport:
    """Run the database battery and return its report (one check per property)."""
    import psycopg

    from prodshield.errors import ProdshieldError

    try:
        report: BatteryReport = _run(run_db_battery_async(opts))
        return report
    except psycopg.Error as exc:
        lines = str(exc).strip().splitlines()
        raise ProdshieldError(f"database: {lines[0] if lines else type(exc).__name__}") from None
