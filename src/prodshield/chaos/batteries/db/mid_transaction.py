"""Check 2, a connection dropped mid-transaction: between two statements (rolled back, the
client told) and while COMMIT is in flight (all or nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from prodshield.chaos.batteries.db.options import APP_NAME, DbOptions
from prodshield.chaos.batteries.db.setup import (
    Setup,
    connect_direct,
    create_accounts,
    wait_count,
)
from prodshield.chaos.batteries.report import BatteryCheck, BatteryReport


async def mid_transaction_test(opts: DbOptions, setup: Setup, report: BatteryReport) -> None:
    import psycopg

    await create_accounts(opts)
    app = f"{APP_NAME}-midtx"

    async def balances(ids: tuple[int, int]) -> tuple[Any, ...]:
        async with await connect_direct(opts.dsn) as conn:
            cur = await conn.execute(
                "SELECT balance FROM accounts WHERE id = ANY(%s) ORDER BY id", (list(ids),)
            )
            return tuple(r[0] for r in await cur.fetchall())

    # (a) dropped between two statements
    t0 = time.monotonic()
    before = await balances((1, 2))
    conn = await psycopg.AsyncConnection.connect(
        setup.proxy_dsn, connect_timeout=3, application_name=app
    )
    client_error = None
    try:
        async with asyncio.timeout(3):
            await conn.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 1")
        undo = await setup.inject("reset_peer", timeout_ms=0)
        try:
            async with asyncio.timeout(3):
                await conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 2")
                await conn.commit()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            client_error = type(exc).__name__
        finally:
            await asyncio.to_thread(undo)
    finally:
        with contextlib.suppress(Exception):
            await conn.close()
    left, waited = await wait_count(opts.dsn, app, 0, 3.0)
    after = await balances((1, 2))
    rolled_back = after == before
    report.add(
        BatteryCheck(
            "drop between statements",
            client_error is not None and rolled_back and left == 0,
            f"client got {client_error or 'NO error'}; server "
            f"{'rolled back' if rolled_back else 'KEPT a partial transaction'}; "
            f"session gone after {waited:.2f} s",
            {
                "client_error": client_error,
                "rolled_back": rolled_back,
                "before": list(before),
                "after": list(after),
                "sessions_left": left,
            },
            duration=time.monotonic() - t0,
        )
    )

    # (b) dropped while COMMIT is in flight: the answer is lost, the outcome indeterminate
    t0 = time.monotonic()
    before = await balances((3, 4))
    conn = await psycopg.AsyncConnection.connect(
        setup.proxy_dsn, connect_timeout=3, application_name=app
    )
    outcome = "committed"
    client_error = None
    try:
        async with asyncio.timeout(3):
            await conn.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 3")
            await conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 4")
        undo = await setup.inject("timeout", timeout_ms=300)  # the server's answer never comes
        try:
            async with asyncio.timeout(3):
                await conn.commit()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            client_error = type(exc).__name__
            outcome = "indeterminate"
        finally:
            await asyncio.to_thread(undo)
    finally:
        with contextlib.suppress(Exception):
            await conn.close()
    await wait_count(opts.dsn, app, 0, 3.0)
    after = await balances((3, 4))
    applied = after == (before[0] - 1, before[1] + 1)
    atomic = applied or after == before
    report.add(
        BatteryCheck(
            "drop during COMMIT",
            atomic,
            f"client saw {outcome} ({client_error or 'no error'}); the database "
            f"{'applied' if applied else 'did not apply'} the transaction"
            + ("" if atomic else " PARTIALLY"),
            {
                "client_outcome": outcome,
                "client_error": client_error,
                "applied": applied,
                "atomic": atomic,
                "before": list(before),
                "after": list(after),
            },
            duration=time.monotonic() - t0,
        )
    )
