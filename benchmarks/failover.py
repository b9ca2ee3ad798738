"""Several instances, in full: 3,000 checks, three instances, two killed with SIGKILL, two restarted.

    python benchmarks/failover.py [--checks 3000] [--interval 20] [--pg postgresql://...]

The scenario of tests/monitor/test_monitor_cluster.py (there with 100 checks every 4 s), through the same
harness (tests/support/cluster_harness.py): three `prodshield monitor run` processes on a fresh PostgreSQL
schema run ``--checks`` HTTP checks against a loopback target, one of them failing (a GitHub issue
on the stand-in); the failing check's owner is killed in the middle of its incident, then a second
instance; the target recovers while one instance carries every check; two new instances start
and the checks split again. Printed: results stored, the closest two results of one check (two
runs of one slot would be under half an interval), the longest gap (at most two intervals), the
leases per instance at each stage, incidents and GitHub issues, and anything that went wrong.

Baseline: none; the figures are absolute (duplicates 0, no gap over two intervals, one issue).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.cluster_harness import run_failover


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--checks", type=int, default=3000)
    ap.add_argument("--interval", type=float, default=20.0)
    args = ap.parse_args()

    import psycopg

    schema = f"bench_failover_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{args.pg}?options=-csearch_path%3D{schema}"
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {args.checks} checks "
        f"every {args.interval:g} s ({args.checks / args.interval:g} checks/s)",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
            r = run_failover(Path(tmp), url, args.checks, args.interval)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    expected_gap = 2 * args.interval
    print(f"run: {r.seconds:.0f} s; events (s from start): {r.events}")
    print(f"results stored: {r.results}")
    print(
        f"closest two results of one check: {r.closest:.2f} s "
        f"(a duplicate would be under {args.interval / 2:g} s)"
    )
    print(f"longest gap: {r.worst_gap:.2f} s (limit {expected_gap:g} s)")
    print(f"leases per live instance: three {r.splits[0]}, one {r.splits[1]}, three {r.splits[2]}")
    print(
        f"incidents of the failing check: {r.incidents}; GitHub issues created: "
        f"{r.issues_created}; 'recovered' comments: {r.recovered_comments}"
    )
    print("problems: " + ("none" if not r.problems else "\n  " + "\n  ".join(r.problems)))
    return 0 if not r.problems else 1


if __name__ == "__main__":
    sys.exit(main())
