"""Several monitor instances on one PostgreSQL store: throughput, scheduling lag, CPU per check.

    python benchmarks/scale.py                   # 1, 2 and 3 instances (about 2 minutes)
    python benchmarks/scale.py --quick           # fewer checks, shorter windows
    python benchmarks/scale.py --pg postgresql://user@host/db

For each instance count, a fresh PostgreSQL schema, ``--checks`` HTTP checks on ``--interval``
against loopback targets (the minimal server of benchmarks/monitor.py, in processes of their own,
so their CPU is not counted), and that many `prodshield monitor run` processes sharing the store.
After a warm-up (start, join, first split), over a window of ``--seconds``: results stored per
second (all instances, and per instance), each instance's CPU (``/proc/<pid>/stat``) per 1,000
checks it ran, the share of checks it leased; after the stop, each instance's own summary line
(scheduling lag p99, missed slots). The database's load over the same window: the CPU of every
PostgreSQL process on this machine (share of a core, ms per stored check) and, from
``pg_stat_database``, transactions and rows written per second. The offered load is the same for every count (checks /
interval), so the figures show what coordination costs and how the work divides.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from monitor import HOSTS, free_port, proc_cpu, wait_port  # benchmarks/monitor.py

PRODSHIELD = [sys.executable, "-m", "prodshield"]
STOPPED = re.compile(
    r"stopped: (?P<runs>\d+) runs .*?(?P<stored>\d+) stored, (?P<missed>\d+) missed slots"
    r"(?:.*?(?P<fenced>\d+) dropped after a handover)?(?:.*?lag p99 (?P<p99>\d+) ms)?"
)


def write_config(folder: Path, url: str, port: int, checks: int, interval: float) -> Path:
    lines = [
        f'storage: "{url}"',
        f"defaults: {{interval: {interval:g}s, timeout: 2s}}",
        "checks:",
    ]
    for n in range(checks):
        host = HOSTS[n % len(HOSTS)]
        lines.append(
            f"  - {{name: c{n:05d}, type: http, url: 'http://{host}:{port}/ok/{n}', "
            "conditions: ['[STATUS] == 200']}"
        )
    cfg = folder / "shield.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def pg_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine (the server runs locally here)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if not f.read().startswith("postgres"):
                    continue
            total += proc_cpu(int(pid))
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    return total


def pg_counters(pg: str) -> tuple[int, int, int]:
    """(transactions, rows inserted, rows updated or deleted) of the database so far."""
    import psycopg

    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback, tup_inserted, tup_updated + tup_deleted"
            " FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def run_count(args: argparse.Namespace, count: int, port: int, folder: Path) -> dict[str, Any]:
    import psycopg

    from prodshield.store import open_store

    schema = f"bench_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{args.pg}?options=-csearch_path%3D{schema}"
    try:
        open_store(url).close()  # migrate once, before the instances race to
        cfg = write_config(folder, url, port, args.checks, args.interval)
        total = args.warmup + args.seconds
        procs = [
            subprocess.Popen(
                [*PRODSHIELD, "monitor", "run", "-c", str(cfg), "--duration", f"{total:g}s"],
                env={**os.environ, "PRODSHIELD_LOCATION": f"bench-{i}"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(count)
        ]
        time.sleep(args.warmup)
        db0 = pg_counters(args.pg)
        t0 = time.time()
        cpu0 = [proc_cpu(p.pid) for p in procs]
        pg0 = pg_cpu()
        time.sleep(args.seconds)
        t1 = time.time()
        cpu1 = [proc_cpu(p.pid) for p in procs]
        pg1 = pg_cpu()
        db1 = pg_counters(args.pg)
        shares = _leases(url)
        outputs = [_finish(p) for p in procs]
        res = _measure(url, procs, outputs, shares, t0, t1, cpu0, cpu1, args)
        window = t1 - t0
        stored = res["stored_per_s"] * window
        res["db"] = {
            "cpu_share": (pg1 - pg0) / window,
            "cpu_ms_per_check": (pg1 - pg0) * 1000 / stored if stored else None,
            "xact_per_s": (db1[0] - db0[0]) / window,
            "inserted_per_s": (db1[1] - db0[1]) / window,
            "updated_per_s": (db1[2] - db0[2]) / window,
        }
        return res
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _finish(proc: subprocess.Popen[str], wait: float = 60.0) -> tuple[str, str]:
    """The instance's output once it has stopped; killed when its final flush takes too long (an
    overloaded instance, its results of the window are already counted)."""
    try:
        return proc.communicate(timeout=wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return out, err + f"\n(killed: still flushing {wait:g} s after its --duration)"


def _leases(url: str) -> dict[int, int]:
    from prodshield.monitor.cluster import list_instances
    from prodshield.store import open_store

    store = open_store(url, migrate=False)
    try:
        return {i.pid: i.owned for i in list_instances(store) if i.live}
    finally:
        store.close()


def _measure(
    url: str,
    procs: list[subprocess.Popen[str]],
    outputs: list[tuple[str, str]],
    shares: dict[int, int],
    t0: float,
    t1: float,
    cpu0: list[float],
    cpu1: list[float],
    args: argparse.Namespace,
) -> dict[str, Any]:
    from sqlalchemy import func, select

    from prodshield.store import open_store
    from prodshield.store import tables as t

    store = open_store(url, migrate=False)
    r = t.check_results
    try:
        with store.connect() as conn:
            per_location = dict(
                conn.execute(
                    select(r.c.location, func.count())
                    .where(r.c.ts >= t0, r.c.ts < t1)
                    .group_by(r.c.location)
                ).all()
            )
            failed = conn.execute(
                select(func.count()).where(r.c.ts >= t0, r.c.ts < t1, r.c.ok.is_(False))
            ).scalar_one()
    finally:
        store.close()
    window = t1 - t0
    rows = []
    for i, (proc, (_out, err)) in enumerate(zip(procs, outputs, strict=True)):
        done = int(per_location.get(f"bench-{i}", 0))
        cpu = cpu1[i] - cpu0[i]
        m = STOPPED.search(err)
        rows.append(
            {
                "instance": i,
                "leased": shares.get(proc.pid, 0),
                "checks_per_s": done / window,
                "cpu_s": cpu,
                "cpu_share": cpu / window,
                "cpu_ms_per_check": cpu * 1000 / done if done else None,
                "lag_p99_ms": int(m["p99"]) if m and m["p99"] else None,
                "missed": int(m["missed"]) if m else None,
                "fenced": int(m["fenced"]) if m and m["fenced"] else 0,
                "exit": proc.returncode,
                "stderr_tail": err.strip().splitlines()[-1:] if not m else [],
            }
        )
    stored = sum(per_location.values())
    return {
        "instances": len(procs),
        "offered_per_s": args.checks / args.interval,
        "stored_per_s": stored / window,
        "failed": failed,
        "per_instance": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--checks", type=int, default=1500)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=30.0, help="the measured window")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--counts", default="1,2,3", help="instance counts to run")
    ap.add_argument("--quick", action="store_true", help="600 checks, 15 s windows")
    args = ap.parse_args()
    if args.quick:
        args.checks, args.seconds, args.warmup = 600, 15.0, 8.0

    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    port = free_port()
    server = [sys.executable, str(Path(__file__).with_name("monitor.py")), "--serve", str(port)]
    servers = [subprocess.Popen([*server, "-", "-"]) for _ in range(2)]
    try:
        wait_port(port)
        print(
            f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
            f"{args.checks} HTTP checks every {args.interval:g} s "
            f"({args.checks / args.interval:g} checks/s offered), window {args.seconds:g} s "
            f"after {args.warmup:g} s warm-up\n"
        )
        print(
            "instances | stored checks/s | per instance: leased, checks/s, CPU (% of a core), "
            "CPU ms/check, lag p99, missed, dropped"
        )
        for count in (int(c) for c in args.counts.split(",")):
            res = run_count(args, count, port, folder)
            per = "; ".join(
                f"#{r['instance']}: {r['leased']}, {r['checks_per_s']:.0f}/s, "
                f"{r['cpu_share'] * 100:.0f}%, "
                + (f"{r['cpu_ms_per_check']:.2f} ms" if r["cpu_ms_per_check"] else "-")
                + f", {r['lag_p99_ms'] if r['lag_p99_ms'] is not None else '-'} ms"
                + f", {r['missed']}, {r['fenced']}"
                + (f" (exit {r['exit']}: {r['stderr_tail']})" if r["exit"] else "")
                for r in res["per_instance"]
            )
            db = res["db"]
            print(
                f"{count} | {res['stored_per_s']:.1f} (offered {res['offered_per_s']:g}, "
                f"{res['failed']} failed) | {per}\n"
                f"  PostgreSQL: {db['cpu_share'] * 100:.0f}% of a core"
                + (
                    f" ({db['cpu_ms_per_check']:.2f} ms per check)"
                    if db["cpu_ms_per_check"]
                    else ""
                )
                + f", {db['xact_per_s']:.0f} transactions/s, {db['inserted_per_s']:.0f} rows "
                f"inserted/s, {db['updated_per_s']:.0f} updated or deleted/s",
                flush=True,
            )
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            s.wait(10)


if __name__ == "__main__":
    main()
