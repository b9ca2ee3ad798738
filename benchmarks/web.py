"""Benchmark: /api/v1/checks and the status page with 10,000 checks and 30 days of aggregates.

Seeds SQLite (and PostgreSQL when reachable) with N checks, their states, last results and 30 days
of hourly aggregates, then measures p50/p95 of both endpoints through the ASGI app (warm cache;
the cold first request is printed too). Baselines measured in the same run on the same data:

- ``naive loop``: what the endpoint would do without the read model, one query per check for its
  state, its last result and its 24 h / 7 d / 30 d uptime (the N+1 pattern);
- ``group by``: one aggregate statement per request over 30 days of ``check_hourly``.

Usage: python benchmarks/web.py [--checks 10000] [--days 30] [--requests 40] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
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
