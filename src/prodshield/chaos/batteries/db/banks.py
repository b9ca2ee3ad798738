"""The bank the bank test drives: its transfer SQL, the read check, and two clients (the
battery's own connections, or a service's HTTP API) behind one :class:`Bank` protocol."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from prodshield.chaos.batteries.db.options import APP_NAME
from prodshield.chaos.batteries.db.setup import connect_direct

TRANSFER_SQL = """
WITH locked AS (
    SELECT id FROM accounts WHERE id IN (%(a)s, %(b)s) ORDER BY id FOR UPDATE
), debit AS (
    UPDATE accounts SET balance = balance - %(amount)s
    WHERE id = %(a)s AND balance >= %(amount)s AND (SELECT count(*) FROM locked) = 2
    RETURNING id
)
UPDATE accounts SET balance = balance + %(amount)s
WHERE id = %(b)s AND EXISTS (SELECT 1 FROM debit)
"""


class Bank(Protocol):
    """Transfers and whole-table reads, however they reach the database."""

    async def transfer(self, a: int, b: int, amount: int, stats: BankStats) -> None:
        """Move ``amount`` from ``a`` to ``b``, counting the outcome in ``stats``."""
        ...

    async def read(self) -> dict[int, Any] | None:
        """Every account's balance, or None when the read failed."""
        ...

    async def close(self) -> None: ...


def check_read(rows: dict[int, Any], expected_ids: set[int], total: int) -> list[str]:
    """The bank-read anomalies of one whole-table read (empty when valid)."""
    problems = []
    if any(k not in expected_ids for k in rows):
        problems.append("unexpected-key")
    if any(v is None for v in rows.values()):
        problems.append("nil-balance")
    if any(v is not None and v < 0 for v in rows.values()):
        problems.append("negative-value")
    if sum(v for v in rows.values() if v is not None) != total:
        problems.append("wrong-total")
    return problems


@dataclass
class BankStats:
    transfers: int = 0
    ok: int = 0
    refused: int = 0  # insufficient funds: a definite no-op
    failed: int = 0  # definite failures (the transaction did not happen)
    indeterminate: int = 0
    reads: int = 0
    read_failures: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    anomalies: Counter[str] = field(default_factory=Counter)
    first_anomaly: dict[str, Any] | None = None


class DirectBank:
    """Transfers and reads with the battery's own connections (one per worker)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: Any = None

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close()
            self.conn = None

    async def _connection(self) -> Any:
        if self.conn is None or self.conn.closed:
            async with asyncio.timeout(1.0):
                self.conn = await connect_direct(self.dsn, application_name=APP_NAME)
        return self.conn

    async def transfer(self, a: int, b: int, amount: int, stats: BankStats) -> None:
        import psycopg

        try:
            conn = await self._connection()
        except (OSError, TimeoutError, psycopg.Error) as exc:
            stats.errors[f"connect:{type(exc).__name__}"] += 1
            await asyncio.sleep(0.01)
            return
        stats.transfers += 1
        try:
            async with asyncio.timeout(0.5):
                cur = await conn.execute(TRANSFER_SQL, {"a": a, "b": b, "amount": amount})
            if cur.rowcount == 1:
                stats.ok += 1
            else:
                stats.refused += 1
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
            stats.failed += 1
            stats.errors[type(exc).__name__] += 1
        except (psycopg.Error, OSError, TimeoutError) as exc:
            # the statement may or may not have committed: indeterminate
            stats.indeterminate += 1
            stats.errors[type(exc).__name__] += 1
            await self.close()

    async def read(self) -> dict[int, Any] | None:
        import psycopg

        try:
            conn = await self._connection()
            async with asyncio.timeout(1.0):
                cur = await conn.execute("SELECT id, balance FROM accounts")
                rows = await cur.fetchall()
        except (psycopg.Error, OSError, TimeoutError):
            await self.close()
            return None
        return {int(r[0]): r[1] for r in rows}


class ServiceBank:
    """Transfers and reads through a service's HTTP API."""

    def __init__(self, base: str, session: Any) -> None:
        self.base = base.rstrip("/")
        self.session = session

    async def close(self) -> None:
        pass

    async def transfer(self, a: int, b: int, amount: int, stats: BankStats) -> None:
        import aiohttp

        stats.transfers += 1
        try:
            async with (
                asyncio.timeout(2.0),
                self.session.post(
                    f"{self.base}/transfer", json={"from": a, "to": b, "amount": amount}
                ) as resp,
            ):
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            stats.indeterminate += 1
            stats.errors[f"http:{type(exc).__name__}"] += 1
            return
        if status == 200:
            stats.ok += 1
        elif status == 409:
            stats.refused += 1
        else:
            stats.failed += 1
            stats.errors[f"http_{status}"] += 1

    async def read(self) -> dict[int, Any] | None:
        import aiohttp

        try:
            async with (
                asyncio.timeout(2.0),
                self.session.get(f"{self.base}/accounts") as resp,
            ):
                if resp.status != 200:
                    return None
                body = await resp.json()
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
            return None
        return {int(k): v for k, v in (body.get("accounts") or {}).items()}
