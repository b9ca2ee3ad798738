"""The battery's hold on its world: the proxy in front of PostgreSQL, direct connections,
the accounts table and ``pg_stat_activity`` counts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from prodshield.chaos.batteries.db.options import DbOptions
from prodshield.chaos.batteries.faults import inject
from prodshield.chaos.proxy.client import ProxyApiError, ProxyClient


def replace_host(dsn: str, listen: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    host, _, port = listen.rpartition(":")
    params = conninfo_to_dict(dsn)
    params["host"] = host.strip("[]")
    params["port"] = port
    return make_conninfo("", **params)


def upstream(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    return f"{params.get('host') or '127.0.0.1'}:{params.get('port') or 5432}"


class Setup:
    """The proxy in front of PostgreSQL (created when missing) and the direct connection."""

    def __init__(self, opts: DbOptions) -> None:
        self.opts = opts
        self.client = ProxyClient(opts.api, timeout=5.0)
        self.created = False
        try:
            info = self.client.proxy(opts.proxy)
        except ProxyApiError as exc:
            if exc.status != 404:
                raise
            info = self.client.create_proxy(opts.proxy, upstream(opts.dsn), "127.0.0.1:0")
            self.created = True
        self.client.update_proxy(opts.proxy, enabled=True)
        for toxic in self.client.toxics(opts.proxy):
            self.client.remove_toxic(opts.proxy, toxic.name)
        self.proxy_dsn = replace_host(opts.dsn, self.client.proxy(opts.proxy).listen)
        self.listen = info.listen

    def close(self) -> None:
        with contextlib.suppress(ProxyApiError):
            for toxic in self.client.toxics(self.opts.proxy):
                self.client.remove_toxic(self.opts.proxy, toxic.name)
            self.client.update_proxy(self.opts.proxy, enabled=True)
            if self.created:
                self.client.delete_proxy(self.opts.proxy)

    async def inject(self, fault: str, **params: Any) -> Callable[[], None]:
        return await asyncio.to_thread(inject, self.client, self.opts.proxy, fault, **params)


async def connect_direct(dsn: str, **kwargs: Any) -> Any:
    import psycopg

    return await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=3, **kwargs)


async def create_accounts(opts: DbOptions) -> None:
    async with await connect_direct(opts.dsn) as conn:
        await conn.execute("DROP TABLE IF EXISTS accounts")
        await conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance bigint)")
        await conn.execute(
            "INSERT INTO accounts SELECT g, %s FROM generate_series(1, %s) g",
            (opts.balance, opts.accounts),
        )


async def activity_count(dsn: str, app: str, state: str | None = None) -> int:
    async with await connect_direct(dsn) as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        params: tuple[Any, ...] = (app,)
        if state:
            query += " AND state = %s"
            params = (app, state)
        cur = await conn.execute(query, params)
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def wait_count(
    dsn: str, app: str, target: int, limit: float, state: str | None = None
) -> tuple[int, float]:
    started = time.monotonic()
    count = await activity_count(dsn, app, state)
    while count > target and time.monotonic() - started < limit:
        await asyncio.sleep(0.05)
        count = await activity_count(dsn, app, state)
    return count, time.monotonic() - started
