"""What the outbox's durability costs: events/s delivered through the outbox vs direct POSTs.

prodshield: enqueue N webhook events in the store, then ``deliver`` them (claim with a lease, POST,
mark sent) to a local aiohttp receiver. Baseline, measured in the same run: the same N POSTs sent
directly with aiohttp at the same concurrency, remembering nothing. Medians of several rounds.

    python benchmarks/notify_outbox.py [--events 400] [--rounds 3] [--pg postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

from prodshield.config.notifiers import WebhookNotifierConfig
from prodshield.notify import Event, deliver, enqueue
from prodshield.store import open_store

CONCURRENCY = 8
RUN = uuid.uuid4().hex[:8]  # keys unique across runs on a reused PostgreSQL database


async def receiver() -> tuple[web.AppRunner, str]:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


def events(n: int, round_no: int) -> list[Event]:
    return [
        Event(
            key=f"bench-{RUN}-{round_no}-{i}",
            type="log.critical",
            subject=f"log:bench:{i}",
            title=f"database down #{i}",
            body="connection refused to 10.0.0.5:5432",
            fields={"source": "app", "count": str(i)},
        )
        for i in range(n)
    ]


async def outbox_round(
    store_url: str, url: str, n: int, round_no: int
) -> tuple[float, float, float]:
    """events/s overall, for enqueue alone, for delivery alone."""
    store = open_store(store_url)
    try:
        cfg = {"hook": WebhookNotifierConfig(type="webhook", url=url)}
        start = time.perf_counter()
        for e in events(n, round_no):
            enqueue(store, ["hook"], e)
        queued = time.perf_counter()
        report = await deliver(store, cfg, deadline_s=120, concurrency=CONCURRENCY)
        end = time.perf_counter()
        assert report.sent == n, report
    finally:
        store.close()
    return n / (end - start), n / (queued - start), n / (end - queued)


async def direct_round(url: str, n: int, round_no: int) -> float:
    sem = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession() as session:

        async def post(e: Event) -> None:
            async with sem, session.post(url, data=json.dumps({"event": e.to_dict()})) as r:
                await r.read()
                assert r.status == 200

        start = time.perf_counter()
        await asyncio.gather(*(post(e) for e in events(n, round_no)))
        return n / (time.perf_counter() - start)


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=400)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--pg", help="also measure on this PostgreSQL URL")
    args = p.parse_args()
    runner, url = await receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            backends = {"sqlite": f"sqlite:///{Path(tmp) / 'bench.db'}"}
            if args.pg:
                backends["postgresql"] = args.pg
            direct = [await direct_round(url, args.events, r) for r in range(args.rounds)]
            base = statistics.median(direct)
            print(f"baseline  direct aiohttp POSTs, no durability: {base:8.0f} events/s")
            for name, store_url in backends.items():
                rates = [
                    await outbox_round(store_url, url, args.events, r) for r in range(args.rounds)
                ]
                med, enq, dlv = (statistics.median(r[i] for r in rates) for i in range(3))
                print(
                    f"prodshield outbox on {name:10s} (enqueue+claim+POST+mark): "
                    f"{med:8.0f} events/s  ratio {med / base:.2f}x of baseline "
                    f"(enqueue alone {enq:.0f}/s, delivery alone {dlv:.0f}/s = "
                    f"{dlv / base:.2f}x)"
                )
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
