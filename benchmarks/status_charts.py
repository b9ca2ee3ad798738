"""Benchmark: the status page's charts and heartbeat bars over dense raw results.

Seeds SQLite with S services of M checks each, every check with 3 hours of results 10 s apart,
then times ``ReadModel.services()`` (one page of 50 services: headline, 24 h response-time chart
from raw results and aggregates, last 30 results) against a named baseline measured in the same
run on the same data:

- ``per-check loop``: one query per charted check for its raw results of the window, bucketed in
  Python, and one per check for its last results (what the page would do without the grouped,
  bounded statements of ``prodshield.monitor.series``).

Usage: python benchmarks/status_charts.py --members 10
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import desc, select

from prodshield.config import parse_config
from prodshield.monitor import series
from prodshield.monitor.aggregates import AggregateCache
from prodshield.monitor.read import BEATS, CHART_MEMBERS, STATUS_RAW_SPAN, ReadModel
from prodshield.store import Store, open_store
from prodshield.store import tables as t


def seed(store: Store, services: int, members: int, now: float) -> int:
    rows = [
        {
            "check_name": f"c{i:05d}",
            "environment": "",
            "ts": now - 10 * k,
            "ok": k % 50 != 0,
            "response_time_ms": 20.0 + k % 7,
        }
        for i in range(services * members)
        for k in range(1080)
    ]
    with store.begin() as conn:
        for j in range(0, len(rows), 50000):
            conn.execute(t.check_results.insert(), rows[j : j + 50000])
    return len(rows)


def per_check_loop(store: Store, groups: list[list[tuple[str, str]]], now: float) -> int:
    """The baseline: a query per check for its window of results and one for its last ones."""
    r = t.check_results
    since = series.raw_since(now, STATUS_RAW_SPAN)
    points = 0
    with store.connect() as conn:
        for keys in groups:
            buckets: dict[int, list[float]] = {}
            for check, env in keys[:CHART_MEMBERS]:
                for ts, ms in conn.execute(
                    select(r.c.ts, r.c.response_time_ms).where(
                        r.c.check_name == check, r.c.environment == env, r.c.ts >= since
                    )
                ):
                    if ms is not None:
                        buckets.setdefault(int((ts - since) // 60), []).append(ms)
            for check, env in keys:
                conn.execute(
                    select(r.c.ts, r.c.ok)
                    .where(r.c.check_name == check, r.c.environment == env)
                    .order_by(desc(r.c.ts))
                    .limit(BEATS)
                ).all()
            points += len(buckets)
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    sum(range(10**6))
    print(f"machine speed: sum(range(10**6)) takes {(time.perf_counter() - start) * 1000:.1f} ms")
    tmp = Path(tempfile.mkdtemp())
    store = open_store(f"sqlite:///{tmp / 'store.db'}")
    now = time.time()
    n = args.services * args.members
    lines = ["storage: sqlite:///unused.db", "checks:"]
    lines += [
        f"  - {{name: c{i:05d}, type: tcp, host: 127.0.0.1, port: 9, interval: 10s, "
        f"group: svc-{i // args.members:03d}}}"
        for i in range(n)
    ]
    text = "\n".join(lines) + "\n"
    rows = seed(store, args.services, args.members, now)
    print(f"seeded {args.services} services x {args.members} checks, {rows:,} results")
    loaded = parse_config(text, name=str(tmp / "shield.yaml"), env={}, fs_path=tmp / "shield.yaml")
    model = ReadModel(store, loaded.config, AggregateCache(store, background=False))
    model.cache.summaries()
    groups = [
        [(f"c{i:05d}", "") for i in range(s * args.members, (s + 1) * args.members)]
        for s in range(min(50, args.services))
    ]
    ours, base = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        model.services(page=1, per_page=50, now=now)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        per_check_loop(store, groups, now)
        base.append(time.perf_counter() - t0)
    a, b = statistics.median(ours), statistics.median(base)
    print(f"status page services(), charts and bars   median {a * 1000:8.1f} ms ({args.runs} runs)")
    print(f"baseline per-check loop                   median {b * 1000:8.1f} ms")
    print(f"ratio: per-check loop / prodshield {b / a:.1f}x")
    store.close()


if __name__ == "__main__":
    main()
