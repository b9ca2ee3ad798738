"""Benchmark: /api/v1/checks and the status page with 10,000 checks and 30 days of aggregates.

Seeds SQLite (and PostgreSQL when reachable) with N checks, their states, last results and 30 days
of hourly aggregates, then measures p50/p95 of both endpoints through the ASGI app (warm cache;
the cold first request is printed too). Baselines measured in the same run on the same data:

- ``naive loop``: what the endpoint would do without the read model, one query per check for its
  state, its last result and its 24 h / 7 d / 30 d uptime (the N+1 pattern);
- ``group by``: one aggregate statement per request over 30 days of ``check_hourly``.

Usage: python benchmarks/web.py [--checks 10000] [--days 30] [--requests 40] [--backend sqlite]

With ``--probes``, the liveness and readiness probes under load instead: a real ``prodshield
serve`` (a subprocess) over ``--checks`` seeded checks (2,000 by default there), ``--clients``
loopback clients (200) loading the heavy pages (status page, dashboard pages, check pages, the
API's lists, ``/metrics``) for ``--seconds``, while a prober opens a new connection for each
``GET /healthz`` and ``GET /readyz`` as the kubelet does. The baseline, in the same run: the
same probes against the same process with no load. Prints p50/p99/max of each probe, and what
the heavy pages got (answers by status, p50/p99).

    python benchmarks/web.py --probes [--checks 2000] [--clients 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from prodshield.config import parse_config
from prodshield.monitor.aggregates import AggregateCache
from prodshield.store import Store, open_store
from prodshield.store import tables as t
from prodshield.web import create_app

TOKEN = "bench-token-0123456789"


def make_config(n: int, path: Path) -> str:
    lines = ["storage: sqlite:///unused.db", "checks:"]
    for i in range(n):
        lines.append(
            f"  - {{name: c{i:05d}, type: tcp, host: 127.0.0.1, port: 9, group: svc-{i // 50:03d}}}"
        )
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def seed(store: Store, n: int, days: int, now: float) -> None:
    hour = int(now) // 3600 * 3600
    names = [f"c{i:05d}" for i in range(n)]
    states = [
        {
            "check_name": c,
            "environment": "",
            "status": "down" if i % 97 == 0 else "up",
            "consecutive_failures": 0,
            "consecutive_successes": 3,
            "last_ts": now - (i % 60),
            "last_ok": i % 97 != 0,
            "updated_at": now,
        }
        for i, c in enumerate(names)
    ]
    results = [
        {
            "check_name": c,
            "environment": "",
            "ts": now - (i % 60),
            "ok": i % 97 != 0,
            "response_time_ms": 20.0 + i % 50,
            "maintenance": False,
        }
        for i, c in enumerate(names)
    ]
    with store.begin() as conn:
        conn.execute(t.check_state.insert(), states)
        conn.execute(t.check_results.insert(), results)
        conn.execute(
            t.incidents.insert(),
            [
                {"check_name": c, "environment": "", "opened_at": now - 600, "status": "open"}
                for i, c in enumerate(names)
                if i % 97 == 0
            ],
        )
    hours = days * 24
    if store.backend == "postgresql":
        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(
                "COPY check_hourly (check_name, environment, hour, count, failures, sum_ms) "
                "FROM STDIN"
            ) as copy:
                for c in names:
                    buf = io.StringIO()
                    for h in range(hours - 1, -1, -1):
                        buf.write(
                            f"{c}\t\t{hour - h * 3600}\t60\t{1 if h % 50 == 0 else 0}\t1800.0\n"
                        )
                    copy.write(buf.getvalue())
            raw.commit()
            cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
        return
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("DROP INDEX IF EXISTS ix_check_hourly_hour")
        cur.execute("BEGIN")
        cur.executemany(
            "INSERT INTO check_hourly (check_name, environment, hour, count, failures, sum_ms) "
            "VALUES (?, '', ?, 60, ?, 1800.0)",
            (
                (c, hour - h * 3600, 1 if h % 50 == 0 else 0)
                for c in names
                for h in range(hours - 1, -1, -1)
            ),
        )
        cur.execute("COMMIT")
        cur.execute("CREATE INDEX ix_check_hourly_hour ON check_hourly (hour)")
        cur.execute("ANALYZE")
    finally:
        raw.close()


def naive_checks(store: Store, names: list[str], now: float) -> list[dict[str, object]]:
    """The baseline: a query per check for state and last result, and one per uptime window."""
    s, r, h = t.check_state, t.check_results, t.check_hourly
    out = []
    with store.connect() as conn:
        for name in names:
            st = conn.execute(
                select(s).where(s.c.check_name == name, s.c.environment == "")
            ).first()
            last = conn.execute(
                select(r)
                .where(r.c.check_name == name, r.c.environment == "")
                .order_by(r.c.ts.desc())
                .limit(1)
            ).first()
            uptime = {}
            for label, span in (("24h", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400)):
                c, f = conn.execute(
                    select(func.sum(h.c.count), func.sum(h.c.failures)).where(
                        h.c.check_name == name, h.c.environment == "", h.c.hour >= now - span
                    )
                ).one()
                uptime[label] = None if not c else 100.0 * (c - f) / c
            out.append(
                {
                    "name": name,
                    "status": st.status if st else None,
                    "last": last.ts if last else None,
                    "uptime": uptime,
                }
            )
    return out


def group_by_checks(store: Store, now: float) -> int:
    """The second baseline: one GROUP BY over 30 days of hourly rows per request."""
    h = t.check_hourly
    with store.connect() as conn:
        rows = conn.execute(
            select(h.c.check_name, h.c.environment, func.sum(h.c.count), func.sum(h.c.failures))
            .where(h.c.hour >= now - 30 * 86400)
            .group_by(h.c.check_name, h.c.environment)
        ).all()
    return len(rows)


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def run(backend: str, url: str, n: int, days: int, requests: int, folder: Path) -> None:
    now = time.time()
    store = open_store(url)
    try:
        t0 = time.perf_counter()
        seed(store, n, days, now)
        print(
            f"[{backend}] seeded {n} checks x {days * 24} hours in {time.perf_counter() - t0:.1f}s"
        )
        text = make_config(n, folder / "shield.yaml")
        loaded = parse_config(
            text, name=str(folder / "shield.yaml"), env={}, fs_path=folder / "shield.yaml"
        )
        cache = AggregateCache(store)
        app = create_app(loaded, store, token=TOKEN, cache=cache)
        # the same app with the 5 s response cache off: every request rebuilds the body
        uncached_app = create_app(loaded, store, token=TOKEN, cache=cache, response_ttl=0.0)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with TestClient(app) as client, TestClient(uncached_app) as raw_client:
            cold = timed(
                lambda: client.get("/api/v1/checks", headers=headers).raise_for_status(), 1
            )[0]
            checks = client.get("/api/v1/checks", headers=headers).json()
            assert checks["count"] == n, checks["count"]
            api = timed(
                lambda: client.get("/api/v1/checks", headers=headers).raise_for_status(), requests
            )
            page = timed(lambda: client.get("/").raise_for_status(), requests)
            api_raw = timed(
                lambda: raw_client.get("/api/v1/checks", headers=headers).raise_for_status(),
                requests,
            )
            page_raw = timed(lambda: raw_client.get("/").raise_for_status(), requests)
        names = [f"c{i:05d}" for i in range(n)]
        import json

        from prodshield.web.api import dumps

        payload = uncached_app.state.ctx.model.checks()
        enc_std = timed(lambda: json.dumps(payload, separators=(",", ":")).encode(), 5)
        enc_fast = timed(lambda: dumps(payload), 5)
        print(
            f"[{backend}] encoding the list: json {statistics.median(enc_std):.1f} ms, "
            f"prodshield's encoder {statistics.median(enc_fast):.1f} ms"
        )
        naive = timed(lambda: naive_checks(store, names, now), 3)
        grouped = timed(lambda: group_by_checks(store, now), 5)
        print(f"[{backend}] cold first /api/v1/checks (loads the aggregate cache): {cold:.0f} ms")
        for label, values in (
            ("/api/v1/checks", api),
            ("status page /", page),
            ("/api/v1/checks, no response cache", api_raw),
            ("status page /, no response cache", page_raw),
        ):
            print(
                f"[{backend}] prodshield {label:34s} p50 {statistics.median(values):7.1f} ms   "
                f"p95 {p95(values):7.1f} ms   ({len(values)} requests)"
            )
        print(
            f"[{backend}] baseline naive per-check loop   median {statistics.median(naive):8.1f} ms"
        )
        print(
            f"[{backend}] baseline one GROUP BY/request   median {statistics.median(grouped):8.1f} ms"
        )
        raw_median = statistics.median(api_raw)
        print(
            f"[{backend}] ratio (rebuilt list, no response cache): naive loop / prodshield "
            f"{statistics.median(naive) / raw_median:.0f}x, GROUP BY / prodshield "
            f"{statistics.median(grouped) / raw_median:.1f}x; floor p95 < 100 ms served: "
            f"{'met' if max(p95(api), p95(page)) < 100 else 'NOT met'}, without response cache: "
            f"{'met' if max(p95(api_raw), p95(page_raw)) < 100 else 'NOT met'}"
        )
    finally:
        store.close()


def calibrate() -> float:
    """Milliseconds for sum(range(10**6)): about 10-15 ms on an idle modern core."""
    return statistics.median(timed(lambda: sum(range(10**6)), 5))


# --- probes under load (--probes) -----------------------------------------------------------

HEAVY = ("status", "dashboard", "check", "api-checks", "api-incidents", "metrics")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0


def _probe_config(folder: Path, n: int, db: Path) -> Path:
    lines = [
        f"storage: sqlite:///{db}",
        f"serve: {{port: 0, token: {TOKEN}, limits: {{max_connections_per_client: 1000}}}}",
        "defaults: {interval: 5m}",
        "checks:",
    ]
    for i in range(n):
        lines.append(
            f"  - {{name: c{i:05d}, type: tcp, host: 127.0.0.1, port: 9, group: svc-{i // 50:03d}}}"
        )
    path = folder / "shield.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _start_serve(config: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "serve", "-c", str(config)],
        cwd=config.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"serve exited {proc.wait()}")
        found = re.search(r"prodshield serving http://[^/]+:(\d+)/", line)
        if found:
            port = int(found.group(1))
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain its output
            break
    else:
        raise SystemExit("serve did not start")
    while time.monotonic() < deadline:
        status, _ = _get(port, "/readyz", timeout=5)
        if status == 200:
            return proc, port
        time.sleep(0.3)
    raise SystemExit("serve never became ready")


def _get(
    port: int, path: str, *, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, float]:
    """One GET on a new connection (as a probe is made): (status, milliseconds); 0 on an error."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        conn.close()
    return status, (time.perf_counter() - start) * 1000


def _session(port: int) -> str:
    """A dashboard session cookie, signed in through the form as a browser does."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    form = conn.getresponse()
    form.read()
    csrf = re.search(r"prodshield_login=([^;]+)", form.getheader("set-cookie") or "")
    assert csrf is not None
    body = urllib.parse.urlencode({"csrf": csrf.group(1), "token": TOKEN, "next": "/dashboard"})
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"prodshield_login={csrf.group(1)}",
        },
    )
    answer = conn.getresponse()
    answer.read()
    conn.close()
    session = re.search(r"prodshield_session=([^;]+)", answer.getheader("set-cookie") or "")
    assert answer.status == 303 and session is not None, answer.status
    return session.group(1)


def _heavy_path(kind: str, n: int, rng: random.Random) -> str:
    return {
        "status": "/",
        "dashboard": f"/dashboard?page={rng.randint(1, max(1, n // 100))}",
        "check": f"/dashboard/checks/c{rng.randrange(n):05d}",
        "api-checks": "/api/v1/checks",
        "api-incidents": "/api/v1/incidents?limit=1000",
        "metrics": "/metrics",
    }[kind]


def _load(port: int, session: str, n: int, clients: int, seconds: float, out: Any) -> None:
    """``clients`` keep-alive clients each loading heavy pages in turn for ``seconds``
    (a process of its own: its CPU is not serve's); sends back [(kind, status, ms)]."""
    import asyncio

    import aiohttp

    async def client(i: int, session_: aiohttp.ClientSession, until: float) -> list[Any]:
        rng = random.Random(i)
        done = []
        while time.monotonic() < until:
            kind = HEAVY[rng.randrange(len(HEAVY))]
            start = time.perf_counter()
            try:
                async with session_.get(
                    f"http://127.0.0.1:{port}{_heavy_path(kind, n, rng)}",
                    headers={
                        "Authorization": f"Bearer {TOKEN}",
                        "Cookie": f"prodshield_session={session}",
                    },
                    allow_redirects=False,
                ) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            done.append((kind, status, (time.perf_counter() - start) * 1000))
            if status == 503:
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        return done

    async def main() -> list[Any]:
        until = time.monotonic() + seconds
        connector = aiohttp.TCPConnector(limit=clients)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as s:
            runs = await asyncio.gather(*(client(i, s, until) for i in range(clients)))
        return [r for run in runs for r in run]

    out.send(asyncio.run(main()))


def _probe(port: int, until: float, gap: float = 0.1) -> dict[str, list[float]]:
    """Probe /healthz and /readyz, each from a thread of its own, on a new connection every
    ``gap`` seconds until ``until`` (as the kubelet does): path -> milliseconds (a failed probe
    counts as 10 s)."""
    found: dict[str, list[float]] = {"/healthz": [], "/readyz": []}

    def probe(path: str) -> None:
        while time.monotonic() < until:
            status, ms = _get(port, path, timeout=10)
            found[path].append(ms if status == 200 else max(ms, 10_000.0))
            time.sleep(gap)

    threads = [threading.Thread(target=probe, args=(path,)) for path in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


def _print_probes(label: str, probes: dict[str, list[float]]) -> None:
    for path in ("/healthz", "/readyz"):
        values = probes[path]
        over = sum(1 for v in values if v > 1000)
        print(
            f"  {label:22s} {path:9s} p50 {statistics.median(values):7.1f} ms   "
            f"p99 {_pct(values, 0.99):7.1f} ms   max {max(values):7.1f} ms   "
            f"{over}/{len(values)} over 1 s (the kubelet's default timeout)"
        )


def probes_run(n: int, days: int, clients: int, seconds: float) -> None:
    import multiprocessing

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "bench.db"
        store = open_store(f"sqlite:///{db}")
        try:
            seed(store, n, days, time.time())
        finally:
            store.close()
        proc, port = _start_serve(_probe_config(folder, n, db))
        try:
            session = _session(port)
            for kind in HEAVY:  # warm: the aggregates are loaded, each page rendered once
                _get(
                    port,
                    _heavy_path(kind, n, random.Random(0)),
                    timeout=60,
                    headers={
                        "Authorization": f"Bearer {TOKEN}",
                        "Cookie": f"prodshield_session={session}",
                    },
                )
            print(f"serve over {n} checks x {days * 24} hours; {clients} clients for {seconds:g} s")
            idle = _probe(port, time.monotonic() + min(10.0, seconds))
            _print_probes("baseline, no load", idle)
            receive, send = multiprocessing.Pipe(duplex=False)
            loader = multiprocessing.Process(
                target=_load, args=(port, session, n, clients, seconds, send)
            )
            loader.start()
            time.sleep(min(3.0, seconds / 4))  # the clients are all connected and waiting
            busy = _probe(port, time.monotonic() + seconds - min(3.0, seconds / 4))
            heavy = receive.recv()
            loader.join(30)
            _print_probes(f"{clients} clients loading", busy)
            by_status: dict[int, int] = {}
            for _, status, _ in heavy:
                by_status[status] = by_status.get(status, 0) + 1
            served = [ms for _, status, ms in heavy if status == 200]
            print(
                f"  heavy pages: {len(heavy)} answers in {seconds:g} s, by status "
                + ", ".join(f"{s or 'error'}: {c}" for s, c in sorted(by_status.items()))
                + (
                    f"; served p50 {statistics.median(served):.0f} ms, "
                    f"p99 {_pct(served, 0.99):.0f} ms"
                    if served
                    else ""
                )
            )
            verdict = _pct(busy["/healthz"], 0.99) < 200 and _pct(busy["/readyz"], 0.99) < 200
            print(
                f"  floor p99 < 200 ms for both probes under load: {'met' if verdict else 'NOT met'}"
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--probes", action="store_true", help="/healthz and /readyz under load")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.probes:
        print(
            f"machine speed: sum(range(10**6)) takes {calibrate():.1f} ms (10-15 ms on an idle core)"
        )
        checks = 2000 if "--checks" not in sys.argv else args.checks
        probes_run(checks, args.days, args.clients, args.seconds)
        return
    print(f"machine speed: sum(range(10**6)) takes {calibrate():.1f} ms (10-15 ms on an idle core)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.backend in ("sqlite", "both"):
            run(
                "sqlite",
                f"sqlite:///{folder / 'bench.db'}",
                args.checks,
                args.days,
                args.requests,
                folder,
            )
        if args.backend in ("postgresql", "both"):
            import uuid

            import psycopg

            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                run(
                    "postgresql",
                    f"{args.pg}?options=-csearch_path%3D{schema}",
                    args.checks,
                    args.days,
                    args.requests,
                    folder,
                )
            finally:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
