"""Check 1, the bank invariant (Jepsen's bank test): concurrent transfers and whole-table reads
while the seeded fault schedule cycles; every read must see the total."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from prodshield.chaos.batteries.db.banks import Bank, BankStats, DirectBank, ServiceBank, check_read
from prodshield.chaos.batteries.db.options import DbOptions
from prodshield.chaos.batteries.db.schedule import fault_schedule
from prodshield.chaos.batteries.db.setup import Setup, connect_direct, create_accounts
from prodshield.chaos.batteries.report import BatteryCheck, BatteryReport
from prodshield.text import plural


async def bank_test(opts: DbOptions, setup: Setup, report: BatteryReport) -> None:
    import aiohttp

    await create_accounts(opts)
    ids = set(range(1, opts.accounts + 1))
    total = opts.accounts * opts.balance
    schedule = fault_schedule(opts.seed, opts.seconds, opts.phase_s, opts.gap_s)
    stats = BankStats()
    started = time.monotonic()
    deadline = started + opts.seconds
    session = aiohttp.ClientSession() if opts.service else None

    def client() -> Bank:
        if opts.service:
            return ServiceBank(opts.service, session)
        return DirectBank(setup.proxy_dsn)

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
    async with await connect_direct(opts.dsn) as conn:
        cur = await conn.execute("SELECT id, balance FROM accounts")
        final = {int(r[0]): r[1] for r in await cur.fetchall()}
    _judge(opts, report, stats, final, total, elapsed, applied, ids)


def invalid_words(anomalies: dict[str, int], first: dict[str, Any] | None, total: int) -> str:
    """What broke the invariant, in words: "wrong-total 20 times; first at 0.15 s (wrong-total:
    the accounts held 795, not 800)"."""
    text = ", ".join(f"{kind} {plural(n, 'time')}" for kind, n in anomalies.items())
    if first:
        text += (
            f"; first at {first['at_s']:.2f} s ({', '.join(first['problems'])}: the accounts held "
            f"{first['total']}, not {total})"
        )
    return text


def _judge(
    opts: DbOptions,
    report: BatteryReport,
    stats: BankStats,
    final: dict[int, Any],
    total: int,
    elapsed: float,
    applied: list[dict[str, Any]],
    ids: set[int],
) -> None:
    """The bank test's two checks from what the run saw and the final read."""
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
        else f"INVALID: {invalid_words(dict(stats.anomalies), stats.first_anomaly, total)}"
    )
    report.add(BatteryCheck("bank invariant", valid, summary, measured, duration=elapsed))
    throughput = {"transfers_per_s_per_worker": round(rate, 1), "elapsed_s": round(elapsed, 2)}
    if opts.service:  # the service's speed is its own business: reported, not judged
        report.add(
            BatteryCheck(
                "bank throughput under faults",
                True,
                f"{rate:.0f} transfers/s per worker through the service (informational)",
                throughput,
                skipped=True,
            )
        )
    else:
        report.add(
            BatteryCheck(
                "bank throughput under faults",
                rate >= opts.min_rate and elapsed <= opts.seconds + 5,
                f"{rate:.0f} transfers/s per worker (need {opts.min_rate:.0f}); "
                f"{opts.seconds:g} s run took {elapsed:.1f} s",
                throughput,
            )
        )
