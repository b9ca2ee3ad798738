"""An example service for the chaos batteries: a small bank API on PostgreSQL with a circuit breaker
around a pricing dependency.

    python examples/bank_service/app.py --dsn postgresql://... --dependency http://127.0.0.1:9001

Endpoints: ``GET /health`` (own health: one query through the pool), ``GET /quote`` (calls the
dependency's ``/price`` through the breaker, holding a pool connection to record the quote),
``POST /transfer`` ``{"from", "to", "amount"}``, ``GET /accounts``, ``GET /pool``.
The table is ``accounts(id int primary key, balance bigint)`` (the db battery creates it).

``--broken`` is the variant the batteries must fail: no breaker, no timeouts (dependency, pool
acquire, statements), and a transfer made of two autocommitted statements instead of one
transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import aiohttp
from aiohttp import web
from psycopg_pool import AsyncConnectionPool, PoolTimeout


class CircuitOpen(Exception):
    """The breaker is open: fail fast without calling the dependency."""


class CircuitBreaker:
    """closed -> open after ``threshold`` consecutive failures (errors or slow calls);
    open -> half-open after ``recovery_s``; half-open lets ``trials`` calls through: a success
    closes the breaker, a failure opens it again."""

    def __init__(self, threshold: int, recovery_s: float, trials: int = 1) -> None:
        self.threshold = threshold
        self.recovery_s = recovery_s
        self.trials = trials
        self.failures = 0
        self.state = "closed"
        self.opened_at = 0.0
        self.in_trial = 0

    def before(self) -> None:
        if self.state == "open":
            if time.monotonic() - self.opened_at < self.recovery_s:
                raise CircuitOpen("circuit open")
            self.state = "half-open"
            self.in_trial = 0
        if self.state == "half-open":
            if self.in_trial >= self.trials:
                raise CircuitOpen("circuit half-open: trial in progress")
            self.in_trial += 1

    def success(self) -> None:
        self.failures = 0
        self.state = "closed"
        self.in_trial = 0

    def failure(self) -> None:
        self.failures += 1
        if self.state == "half-open" or self.failures >= self.threshold:
            self.state = "open"
            self.opened_at = time.monotonic()
            self.in_trial = 0


class Bank:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.broken: bool = args.broken
        timeout = None if self.broken else args.acquire_timeout
        self.pool = AsyncConnectionPool(
            args.dsn,
            min_size=args.pool_size,
            max_size=args.pool_size,
            timeout=timeout if timeout is not None else 3600.0,
            kwargs={"autocommit": True, "application_name": args.application_name},
            open=False,
        )
        self.breaker = CircuitBreaker(args.threshold, args.recovery_s)
        self.session: aiohttp.ClientSession | None = None

    def op_timeout(self) -> Any:
        return asyncio.timeout(None if self.broken else self.args.db_timeout)

    async def start(self, app: web.Application) -> None:
        await self.pool.open(wait=False)
        # one connection per call: no reused-connection retries hiding a second trial call
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))

    async def stop(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()
        await self.pool.close(timeout=1)

    async def health(self, request: web.Request) -> web.Response:
        try:
            async with self.op_timeout(), self.pool.connection() as conn:
                await conn.execute("SELECT 1")
        except (PoolTimeout, TimeoutError, OSError, Exception) as exc:
            return web.json_response({"status": "down", "error": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok"})

    async def _price(self) -> Any:
        assert self.session is not None
        url = f"{self.args.dependency}/price"
        if self.broken:
            async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=None)) as resp:
                resp.raise_for_status()
                return await resp.json()
        self.breaker.before()
        try:
            timeout = aiohttp.ClientTimeout(total=self.args.slow_ms / 1000)
            async with self.session.get(url, timeout=timeout) as resp:
                resp.raise_for_status()
                body = await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            self.breaker.failure()
            raise
        self.breaker.success()
        return body

    async def quote(self, request: web.Request) -> web.Response:
        try:
            async with self.pool.connection() as conn:
                price = await self._price()
                async with self.op_timeout():
                    await conn.execute("SELECT %s::text", (json.dumps(price),))
        except CircuitOpen as exc:
            return web.json_response({"error": str(exc)}, status=503)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return web.json_response({"error": f"dependency: {type(exc).__name__}"}, status=502)
        except Exception as exc:
            return web.json_response({"error": type(exc).__name__}, status=503)
        return web.json_response({"price": price})

    async def transfer(self, request: web.Request) -> web.Response:
        body = await request.json()
        src, dst, amount = int(body["from"]), int(body["to"]), int(body["amount"])
        try:
            async with self.pool.connection() as conn:
                if self.broken:  # two statements, each committed on its own
                    cur = await conn.execute(
                        "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s",
                        (amount, src, amount),
                    )
                    if cur.rowcount != 1:
                        return web.json_response({"error": "insufficient funds"}, status=409)
                    await conn.execute(
                        "UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, dst)
                    )
                    return web.json_response({"ok": True})
                async with self.op_timeout(), conn.transaction():
                    cur = await conn.execute(
                        "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s",
                        (amount, src, amount),
                    )
                    if cur.rowcount != 1:
                        return web.json_response({"error": "insufficient funds"}, status=409)
                    await conn.execute(
                        "UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, dst)
                    )
        except PoolTimeout:
            return web.json_response({"error": "pool exhausted"}, status=503)
        except Exception as exc:
            return web.json_response({"error": type(exc).__name__}, status=503)
        return web.json_response({"ok": True})

    async def accounts(self, request: web.Request) -> web.Response:
        try:
            async with self.op_timeout(), self.pool.connection() as conn:
                cur = await conn.execute("SELECT id, balance FROM accounts ORDER BY id")
                rows = await cur.fetchall()
        except PoolTimeout:
            return web.json_response({"error": "pool exhausted"}, status=503)
        except Exception as exc:
            return web.json_response({"error": type(exc).__name__}, status=503)
        return web.json_response({"accounts": {str(i): b for i, b in rows}})

    async def pool_info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "size": self.args.pool_size,
                "acquire_timeout": None if self.broken else self.args.acquire_timeout,
                "application_name": self.args.application_name,
                "breaker": self.breaker.state,
            }
        )


def build_app(args: argparse.Namespace) -> web.Application:
    bank = Bank(args)
    app = web.Application()
    app.on_startup.append(bank.start)
    app.on_cleanup.append(bank.stop)
    app.router.add_get("/health", bank.health)
    app.router.add_get("/quote", bank.quote)
    app.router.add_post("/transfer", bank.transfer)
    app.router.add_get("/accounts", bank.accounts)
    app.router.add_get("/pool", bank.pool_info)
    return app


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dsn", required=True)
    p.add_argument("--dependency", required=True, help="base URL of the pricing dependency")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--pool-size", type=int, default=4)
    p.add_argument("--acquire-timeout", type=float, default=0.5)
    p.add_argument("--db-timeout", type=float, default=1.0)
    p.add_argument("--threshold", type=int, default=3, help="failures that open the breaker")
    p.add_argument("--recovery-s", type=float, default=1.0, help="open time before a trial")
    p.add_argument("--slow-ms", type=float, default=200, help="a slower call is a failure")
    p.add_argument("--application-name", default="bank-example")
    p.add_argument("--broken", action="store_true", help="no breaker, no timeouts")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    runner = web.AppRunner(build_app(args), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sys.stdout.write(f"listening on {args.host}:{port}\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(serve(parse()))
    except KeyboardInterrupt:
        pass
