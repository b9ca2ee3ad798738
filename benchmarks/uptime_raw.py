"""Benchmark: CPU per refresh of the raw part of every uptime figure in ``serve``.

Seeds a store with N checks (default 2,000), each with a result every 60 s over the current
hour so far (45 minutes) and the hour before it, rolled up to the hourly aggregates (the
watermark at "now", so only the current hour is counted raw). Then, for R rounds, each 5 s of
clock adds one 5-second tick of results (N x 5 / 60) and times
``AggregateCache.summaries_for(every check)``, the call behind the checks list, the status page
and the badges, in two ways on the same data in the same run:

- ``incremental``: the raw part brought up to date from the results with an id above the last
  one read (``monitor.aggregates.RawHours.update``), what ``serve`` does;
- ``full re-read`` (the baseline): the raw part read again in full, one grouped statement over
  the current hour (what every 5 s re-read did before).

CPU is this process's (``time.process_time``: on SQLite that includes the database's work, on
PostgreSQL the server's is not in it, so wall time is printed too). Medians over the rounds.

Usage: python benchmarks/uptime_raw.py [--checks 2000] [--rounds 40] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from prodshield.monitor.aggregates import RAW_TTL, AggregateCache
from prodshield.store import Store, open_store
from prodshield.store import tables as t
from prodshield.web.rollup import rollup_pending

NOW = 1_800_002_700.0  # 2027-01-15 08:45 UTC: 45 minutes into the hour


def _tick(store: Store, names: list[str], since: float, until: float, every: float) -> int:
    """One result per check per ``every`` seconds in [since, until), spread over the checks."""
    rows = []
    for i, name in enumerate(names):
        ts = since + (i * every / len(names))
        while ts < until:
            rows.append(
                {
                    "check_name": name,
                    "environment": "",
                    "ts": ts,
                    "ok": int(ts) % 97 != 0,
                    "response_time_ms": 20.0 + int(ts) % 7,
                }
            )
            ts += every
    with store.begin() as conn:
        for j in range(0, len(rows), 50000):
            conn.execute(t.check_results.insert(), rows[j : j + 50000])
    return len(rows)


def run(label: str, url: str, checks: int, rounds: int) -> None:
    store = open_store(url)
    names = [f"c{i:05d}" for i in range(checks)]
    keys = [(n, "") for n in names]
    seeded = _tick(store, names, NOW - 3600 - 2700, NOW, 60.0)
    rollup_pending(store, now=NOW)
    print(f"{label}: {checks:,} checks, {seeded:,} results, rolled up to 08:45")
    clock = [NOW]
    cache = AggregateCache(store, clock=lambda: clock[0], background=False)
    cache.summaries_for(keys)
    timings: dict[str, list[tuple[float, float]]] = {"incremental": [], "full re-read": []}
    for i in range(2 * rounds):  # the two ways alternate, each after its own 5 s tick
        start = clock[0]
        clock[0] += RAW_TTL
        _tick(store, names, start, clock[0], 60.0)
        mode = "full re-read" if i % 2 else "incremental"
        c0, w0 = time.process_time(), time.perf_counter()
        if mode == "full re-read":
            cache._raw_update(clock[0], full=True)
        got = cache.summaries_for(keys)
        timings[mode].append((time.process_time() - c0, time.perf_counter() - w0))
        assert len(got) == checks
    for mode, values in timings.items():
        cpu = statistics.median(v[0] for v in values) * 1000
        wall = statistics.median(v[1] for v in values) * 1000
        print(f"  {mode:<14} CPU {cpu:7.1f} ms  wall {wall:7.1f} ms per refresh (median)")
    print(f"  full reads while incremental: {cache.raw.full_reads - rounds - 1} (0 expected)")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend in ("sqlite", "both"):
            run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.checks, args.rounds)
        if args.backend in ("postgresql", "both"):
            import uuid

            import psycopg

            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                url = f"{args.pg}?options=-csearch_path%3D{schema}"
                run("postgresql", url, args.checks, args.rounds)
            finally:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
