"""The database battery: PostgreSQL resilience through the fault proxy.

1. Bank invariant (Jepsen's bank test): ``accounts`` rows with a fixed total, concurrent transfers
   and whole-table reads while a seeded fault schedule cycles (reset_peer, timeout, limit_data, down,
   latency). Every read must see the total, no negative balance, no unknown account, no NULL.
   Errors on a transfer whose outcome the client cannot know are counted as indeterminate.
2. Connection dropped mid-transaction: between two statements (the server must roll back and the
   client must get an error) and while COMMIT is in flight (all-or-nothing; reported as
   indeterminate, not as a failure).
3. Pool exhaustion: every pooled connection held by a toxic, request N+1 fails within the pool's
   acquire timeout, new requests work within 1 s once the toxic is gone, and ``pg_stat_activity``
   returns to its baseline (no leaked connections).

With ``service`` set, 1 and 3 drive a service's HTTP API instead of the battery's own client
(``POST /transfer``, ``GET /accounts``, ``GET /pool``; see examples/bank_service), so the battery
judges the service's database code; ``dsn`` is then used only to set up and inspect the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prodshield.chaos.batteries.faults import FAULTS, inject
from prodshield.chaos.batteries.report import BatteryReport, Check
from prodshield.chaos.proxy.client import ProxyApiError, ProxyClient

APP_NAME = "prodshield-db-battery"
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


@dataclass
class DbOptions:
    dsn: str
    api: str = "http://127.0.0.1:8474"
    proxy: str = "prodshield-db"
    seconds: float = 10.0
    seed: int = 1
    workers: int = 2
    accounts: int = 8
    balance: int = 100
    service: str | None = None
    pool_size: int = 4
    acquire_timeout: float = 0.5
    phase_s: float = 0.5  # how long each fault of the schedule lasts
    gap_s: float = 0.5  # healthy time between two faults
    min_rate: float = 50.0  # transfers per second per worker
    checks: tuple[str, ...] = ("bank", "mid-transaction", "pool")


@dataclass
class Phase:
    at: float
    fault: str
    params: dict[str, Any]


def fault_schedule(seed: int, seconds: float, phase_s: float, gap_s: float) -> list[Phase]:
    """The faults and their parameters over the run; the same seed gives the same schedule."""
    rng = random.Random(seed)
    order: list[str] = []
    phases: list[Phase] = []
    t = gap_s
    while t + phase_s <= seconds:
        if not order:  # every fault once per cycle, in a seeded order
            order = list(FAULTS)
            rng.shuffle(order)
        fault = order.pop(0)
        params: dict[str, Any] = {}
        if fault == "timeout":
            params = {"timeout_ms": rng.choice([50, 100, 200])}
        elif fault == "reset_peer":
            params = {"timeout_ms": 0}
        elif fault == "limit_data":
            params = {"bytes": rng.randint(200, 2000)}
        elif fault == "latency":
            params = {"latency_ms": rng.randint(1, 4)}
        phases.append(Phase(round(t, 3), fault, params))
        t += phase_s + gap_s
    return phases


def _replace_host(dsn: str, listen: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    host, _, port = listen.rpartition(":")
    params = conninfo_to_dict(dsn)
    params["host"] = host.strip("[]")
    params["port"] = port
    return make_conninfo("", **params)


def _upstream(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    return f"{params.get('host') or '127.0.0.1'}:{params.get('port') or 5432}"


class _Setup:
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
            info = self.client.create_proxy(opts.proxy, _upstream(opts.dsn), "127.0.0.1:0")
            self.created = True
        self.client.update_proxy(opts.proxy, enabled=True)
        for toxic in self.client.toxics(opts.proxy):
            self.client.remove_toxic(opts.proxy, toxic.name)
        self.proxy_dsn = _replace_host(opts.dsn, self.client.proxy(opts.proxy).listen)
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


async def _direct(dsn: str, **kwargs: Any) -> Any:
    import psycopg

    return await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=3, **kwargs)


async def _create_accounts(opts: DbOptions) -> None:
    async with await _direct(opts.dsn) as conn:
        await conn.execute("DROP TABLE IF EXISTS accounts")
        await conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance bigint)")
        await conn.execute(
            "INSERT INTO accounts SELECT g, %s FROM generate_series(1, %s) g",
            (opts.balance, opts.accounts),
        )


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
class _BankStats:
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


class _DirectBank:
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
                self.conn = await _direct(self.dsn, application_name=APP_NAME)
        return self.conn

    async def transfer(self, a: int, b: int, amount: int, stats: _BankStats) -> None:
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


class _ServiceBank:
    """Transfers and reads through a service's HTTP API."""

    def __init__(self, base: str, session: Any) -> None:
        self.base = base.rstrip("/")
        self.session = session

    async def close(self) -> None:
        pass

    async def transfer(self, a: int, b: int, amount: int, stats: _BankStats) -> None:
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


async def bank_test(opts: DbOptions, setup: _Setup, report: BatteryReport) -> None:
    import aiohttp

    await _create_accounts(opts)
    ids = set(range(1, opts.accounts + 1))
    total = opts.accounts * opts.balance
    schedule = fault_schedule(opts.seed, opts.seconds, opts.phase_s, opts.gap_s)
    stats = _BankStats()
    started = time.monotonic()
    deadline = started + opts.seconds
    session = aiohttp.ClientSession() if opts.service else None

    def client() -> Any:
        if opts.service:
            return _ServiceBank(opts.service, session)
        return _DirectBank(setup.proxy_dsn)

    def note(rows: dict[int, Any] | None, when: float) -> None:
        if rows is None:
            stats.read_failures += 1
            return
        stats.reads += 1
        problems = check_read(rows, ids, total)
        for p in problems:
            stats.anomalies[p] += 1
        if problems and stats.first_anomaly is None:
            stats.first_anomaly = {
                "at_s": round(when - started, 3),
                "problems": problems,
                "total": sum(v for v in rows.values() if v is not None),
            }

    async def worker(wid: int) -> None:
        rng = random.Random(opts.seed * 1000 + wid)
        bank = client()
        try:
            while time.monotonic() < deadline:
                if rng.random() < 0.1:
                    note(await bank.read(), time.monotonic())
                    continue
                a, b = rng.sample(sorted(ids), 2)
                await bank.transfer(a, b, rng.randint(1, 5), stats)
        finally:
            await bank.close()

    applied: list[dict[str, Any]] = []

    async def faults() -> None:
        for phase in schedule:
            delay = started + phase.at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.monotonic() >= deadline:
                return
            undo = await setup.inject(phase.fault, **phase.params)
            applied.append({"at_s": phase.at, "fault": phase.fault, **phase.params})
            try:
                await asyncio.sleep(min(opts.phase_s, max(0.0, deadline - time.monotonic())))
            finally:
                await asyncio.to_thread(undo)

    try:
        await asyncio.gather(faults(), *(worker(w) for w in range(opts.workers)))
    finally:
        if session is not None:
            await session.close()
    elapsed = time.monotonic() - started
    # a final read with a direct connection, faults gone
    async with await _direct(opts.dsn) as conn:
        cur = await conn.execute("SELECT id, balance FROM accounts")
        final = {int(r[0]): r[1] for r in await cur.fetchall()}
    final_problems = check_read(final, ids, total)
    for p in final_problems:
        stats.anomalies[p] += 1
    valid = not stats.anomalies
    rate = stats.transfers / opts.workers / elapsed if elapsed else 0.0
    measured = {
        "valid": valid,
        "reads": stats.reads,
        "read_failures": stats.read_failures,
        "transfers": stats.transfers,
        "ok": stats.ok,
        "refused": stats.refused,
        "failed": stats.failed,
        "indeterminate": stats.indeterminate,
        "errors_by_type": dict(stats.anomalies),
        "client_errors": dict(stats.errors),
        "first_anomaly": stats.first_anomaly,
        "final_total": sum(v for v in final.values() if v is not None),
        "expected_total": total,
        "faults": applied,
        "seed": opts.seed,
    }
    summary = (
        f"valid: {stats.reads} reads saw the total {total}"
        if valid
        else f"INVALID: {dict(stats.anomalies)} (first {stats.first_anomaly})"
    )
    report.add(Check("bank invariant", valid, summary, measured, duration=elapsed))
    throughput = {"transfers_per_s_per_worker": round(rate, 1), "elapsed_s": round(elapsed, 2)}
    if opts.service:  # the service's speed is its own business: reported, not judged
        report.add(
            Check(
                "bank throughput under faults",
                True,
                f"{rate:.0f} transfers/s per worker through the service (informational)",
                throughput,
                skipped=True,
            )
        )
    else:
        report.add(
            Check(
                "bank throughput under faults",
                rate >= opts.min_rate and elapsed <= opts.seconds + 5,
                f"{rate:.0f} transfers/s per worker (need {opts.min_rate:.0f}); "
                f"{opts.seconds:g} s run took {elapsed:.1f} s",
                throughput,
            )
        )


async def _activity_count(dsn: str, app: str, state: str | None = None) -> int:
    async with await _direct(dsn) as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        params: tuple[Any, ...] = (app,)
        if state:
            query += " AND state = %s"
            params = (app, state)
        cur = await conn.execute(query, params)
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def _wait_count(
    dsn: str, app: str, target: int, limit: float, state: str | None = None
) -> tuple[int, float]:
    started = time.monotonic()
    count = await _activity_count(dsn, app, state)
    while count > target and time.monotonic() - started < limit:
        await asyncio.sleep(0.05)
        count = await _activity_count(dsn, app, state)
    return count, time.monotonic() - started


async def mid_transaction_test(opts: DbOptions, setup: _Setup, report: BatteryReport) -> None:
    import psycopg

    await _create_accounts(opts)
    app = f"{APP_NAME}-midtx"

    async def balances(ids: tuple[int, int]) -> tuple[Any, ...]:
        async with await _direct(opts.dsn) as conn:
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
    left, waited = await _wait_count(opts.dsn, app, 0, 3.0)
    after = await balances((1, 2))
    rolled_back = after == before
    report.add(
        Check(
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
    await _wait_count(opts.dsn, app, 0, 3.0)
    after = await balances((3, 4))
    applied = after == (before[0] - 1, before[1] + 1)
    atomic = applied or after == before
    report.add(
        Check(
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


async def pool_test(opts: DbOptions, setup: _Setup, report: BatteryReport) -> None:
    if opts.service:
        await _service_pool_test(opts, setup, report)
    else:
        await _direct_pool_test(opts, setup, report)


async def _direct_pool_test(opts: DbOptions, setup: _Setup, report: BatteryReport) -> None:
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    app = f"{APP_NAME}-pool"
    t0 = time.monotonic()
    baseline = await _activity_count(opts.dsn, app)
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
    count, _ = await _wait_count(opts.dsn, app, baseline, 3.0)
    _pool_checks(
        report, n, opts.acquire_timeout, refused, waited, recovered_in, baseline, count, t0
    )


def _pool_checks(
    report: BatteryReport,
    n: int,
    acquire_timeout: float | None,
    refused: bool,
    waited: float,
    recovered_in: float | None,
    baseline: int,
    count: int,
    t0: float,
) -> None:
    limit = (acquire_timeout or 0) + 0.5
    report.add(
        Check(
            "pool exhaustion fails fast",
            refused and acquire_timeout is not None and waited <= limit,
            f"request {n + 1} with all {n} connections held: "
            + (f"refused after {waited:.2f} s" if refused else f"NOT refused ({waited:.2f} s)")
            + f" (acquire timeout {acquire_timeout} s)",
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
        Check(
            "pool recovers",
            recovered_in is not None and recovered_in <= 1.0,
            "new requests work "
            + (f"{recovered_in:.2f} s after the toxic went" if recovered_in is not None else "NOT")
            + " (need <= 1 s)",
            {"recovered_in_s": None if recovered_in is None else round(recovered_in, 3)},
        )
    )
    report.add(
        Check(
            "no leaked connections",
            count <= baseline,
            f"pg_stat_activity: {count} sessions, baseline {baseline}",
            {"sessions": count, "baseline": baseline},
        )
    )


async def _service_pool_test(opts: DbOptions, setup: _Setup, report: BatteryReport) -> None:
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
        baseline = max(n, await _activity_count(opts.dsn, app)) if app else 0

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
    count, _ = await _wait_count(opts.dsn, app, baseline, 3.0) if app else (0, 0.0)
    _pool_checks(report, n, acquire, refused, waited, recovered_in, baseline, count, t0)


async def run_db_battery_async(opts: DbOptions) -> BatteryReport:
    import logging

    # psycopg warns about every connection the faults break: the report has the numbers
    for name in ("psycopg", "psycopg.pool"):
        logging.getLogger(name).addHandler(logging.NullHandler())
        logging.getLogger(name).propagate = False
    report = BatteryReport(
        "db",
        opts.service or _upstream(opts.dsn),
        parameters={
            "seconds": opts.seconds,
            "seed": opts.seed,
            "workers": opts.workers,
            "proxy": opts.proxy,
            "service": opts.service,
        },
    )
    setup = await asyncio.to_thread(_Setup, opts)
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
        return _run(run_db_battery_async(opts))
    except psycopg.Error as exc:
        lines = str(exc).strip().splitlines()
        raise ProdshieldError(f"database: {lines[0] if lines else type(exc).__name__}") from None
