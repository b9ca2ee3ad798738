"""PostgreSQL really restarted under load: several instances keep every check on schedule.

    python benchmarks/pgrestart.py [--instances 2] [--checks 100] [--interval 2] \
        [--restarts 3] [--every 15] [--cluster "15 main"]

Needs root (or the postgres user) and ``pg_ctlcluster``: it restarts the local PostgreSQL server
with ``pg_ctlcluster <version> <name> restart`` (every connection and session advisory lock goes).
``--instances`` `prodshield monitor run` processes share one fresh schema and run ``--checks`` HTTP
checks every ``--interval`` seconds against a loopback target; one check fails all along (an open
incident, one GitHub issue on the stand-in) and recovers at the end.

Two runs of the same length: first without restarts (the baseline), then with ``--restarts``
restarts ``--every`` seconds apart. For each: results stored against the slots offered (lost),
pairs of results of one check closer than half an interval (duplicates), the longest gap between
two results of one check, results dropped at a handover, GitHub issues created and closed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.cluster_harness import REPO, TOKEN, serve_targets, write_config
from support.standins.github import GitHubStandin

PRODSHIELD = [sys.executable, "-m", "prodshield"]
STOPPED = re.compile(r"stopped: .*?(?:(?P<fenced>\d+) dropped after a handover)")


def restart(cluster: list[str]) -> float:
    began = time.monotonic()
    subprocess.run(["pg_ctlcluster", *cluster, "restart"], check=True, timeout=120)
    return time.monotonic() - began


def one_run(args: argparse.Namespace, restarts: int, folder: Path) -> dict[str, Any]:
    import psycopg

    from prodshield.store import open_store

    schema = f"bench_restart_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{args.pg}?options=-csearch_path%3D{schema}"
    downtimes: list[float] = []
    try:
        open_store(url).close()
        with serve_targets() as targets, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
            gh.repo(REPO)
            cfg = write_config(folder, url, targets.url, gh.url, args.checks, args.interval)
            procs = [
                subprocess.Popen(
                    [*PRODSHIELD, "monitor", "run", "-c", str(cfg)],
                    env={**os.environ, "GITHUB_TOKEN": TOKEN, "PRODSHIELD_LOCATION": f"b{i}"},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for i in range(args.instances)
            ]
            deadline = time.monotonic() + 60
            while not gh.issues(REPO) and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(2 * args.interval)
            start = time.time()
            for _ in range(restarts):
                time.sleep(args.every)
                downtimes.append(restart(args.cluster))
            time.sleep(args.every if restarts else args.every * (args.restarts + 1))
            targets.down = False
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                issues = gh.issues(REPO)
                if issues and all(i["state"] == "closed" for i in issues):
                    break
                time.sleep(0.5)
            end = time.time()
            for p in procs:
                p.send_signal(signal.SIGTERM)
            errs = []
            for p in procs:
                try:
                    errs.append(p.communicate(timeout=60)[1])
                except subprocess.TimeoutExpired:
                    p.kill()
                    errs.append(p.communicate()[1] + "\n(killed: no clean stop in 60 s)")
            created = gh.count("POST", rf"/repos/{REPO}/issues$")
            issues = gh.issues(REPO)
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT check_name, ts FROM check_results WHERE ts >= %s AND ts <= %s",
                (start, end),
            ).fetchall()
            incidents = conn.execute("SELECT COUNT(*) FROM incidents").fetchone()
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    per_check: dict[str, list[float]] = defaultdict(list)
    for name, ts in rows:
        per_check[name].append(ts)
    gaps: list[float] = []
    duplicates = 0
    for times in per_check.values():
        times.sort()
        for a, b in itertools.pairwise(times):
            gaps.append(b - a)
            duplicates += b - a < 0.5 * args.interval
    span = end - start
    offered = args.checks * span / args.interval
    fenced = sum(int(m["fenced"]) for e in errs if (m := STOPPED.search(e)))
    return {
        "restarts": restarts,
        "downtime_s": downtimes,
        "span_s": span,
        "stored": len(rows),
        "offered": offered,
        "duplicates": duplicates,
        "worst_gap_s": max(gaps, default=0.0),
        "gaps_over_2_intervals": sum(g > 2 * args.interval for g in gaps),
        "checks_seen": len(per_check),
        "fenced": fenced,
        "issues_created": created,
        "issues_closed": sum(i["state"] == "closed" for i in issues),
        "incidents": int(incidents[0]) if incidents else 0,
        "clean_exits": sum(p.returncode == 0 for p in procs),
        "tracebacks": sum("Traceback" in e for e in errs),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--cluster", default="15 main", help="pg_ctlcluster's version and name")
    ap.add_argument("--instances", type=int, default=2)
    ap.add_argument("--checks", type=int, default=100)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--every", type=float, default=15.0)
    args = ap.parse_args()
    args.cluster = args.cluster.split()
    if subprocess.run(["which", "pg_ctlcluster"], capture_output=True).returncode != 0:
        print("pg_ctlcluster is not installed: this benchmark restarts a local Debian cluster")
        return 2
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {args.instances} "
        f"instances, {args.checks} checks every {args.interval:g} s "
        f"({args.checks / args.interval:g} checks/s)\n"
    )
    print(
        "run | span | stored / offered slots | lost | duplicates | worst gap | gaps > 2 intervals"
        " | dropped at handover | issues created / closed | incidents | clean stops"
    )
    with tempfile.TemporaryDirectory(prefix="bench-pgrestart-") as tmp:
        for restarts in (0, args.restarts):
            r = one_run(args, restarts, Path(tmp))
            name = (
                "baseline (no restart)"
                if not restarts
                else f"{restarts} restarts ({', '.join(f'{d:.1f}' for d in r['downtime_s'])} s)"
            )
            lost = max(0.0, r["offered"] - r["stored"])
            print(
                f"{name} | {r['span_s']:.0f} s | {r['stored']} / {r['offered']:.0f} | "
                f"{lost:.0f} ({100 * lost / r['offered']:.1f}%) | {r['duplicates']} | "
                f"{r['worst_gap_s']:.1f} s | {r['gaps_over_2_intervals']} | {r['fenced']} | "
                f"{r['issues_created']} / {r['issues_closed']} | {r['incidents']} | "
                f"{r['clean_exits']}/{args.instances}"
                + (f" ({r['tracebacks']} with a traceback)" if r["tracebacks"] else ""),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
