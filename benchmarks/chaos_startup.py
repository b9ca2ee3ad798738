"""Benchmark: ``prodshield chaos run`` start-up against Chaos Toolkit's ``chaos run``, and the db
battery's transfers/s under faults.

    python benchmarks/chaos_startup.py [--runs 11] [--seconds 10] [--pg postgresql://...]

1. Both tools run the same minimal experiment (one process action) ``--runs`` times, alternating;
   the figure is the median wall-clock time of each and their ratio (target: <= 0.5).
2. The db battery's bank test (its own client, through ``prodshield chaos proxy``) for
   ``--seconds`` with the seeded fault schedule: transfers/s per worker (target: >= 50), validity,
   and the run's duration (target: a 10 s run within 15 s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BIN = Path(sys.executable).parent
MINIMAL = {
    "title": "minimal",
    "description": "start-up benchmark",
    "method": [
        {
            "type": "action",
            "name": "noop",
            "provider": {"type": "process", "path": "true"},
        }
    ],
}


def _time(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=120, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {proc.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def startup(runs: int) -> None:
    chaos = shutil.which("chaos", path=str(BIN)) or shutil.which("chaos")
    prodshield = shutil.which("prodshield", path=str(BIN)) or shutil.which("prodshield")
    if not chaos or not prodshield:
        raise SystemExit("needs both `chaos` (pip install chaostoolkit) and `prodshield`")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "minimal.json").write_text(json.dumps(MINIMAL))
        env_home = {"HOME": tmp}
        os.environ.update(env_home)
        ours: list[float] = []
        theirs: list[float] = []
        # one warm-up each, so both read their files from the page cache
        _time([prodshield, "chaos", "run", "minimal.json", "--journal-path", "p.json"], folder)
        _time(
            [chaos, "--no-version-check", "run", "minimal.json", "--journal-path", "c.json"], folder
        )
        for _ in range(runs):
            ours.append(
                _time(
                    [prodshield, "chaos", "run", "minimal.json", "--journal-path", "p.json"],
                    folder,
                )
            )
            theirs.append(
                _time(
                    [
                        chaos,
                        "--no-version-check",
                        "run",
                        "minimal.json",
                        "--journal-path",
                        "c.json",
                    ],
                    folder,
                )
            )
    mine, base = statistics.median(ours), statistics.median(theirs)
    print(f"start-up, minimal experiment, median of {runs} runs each:")
    print(f"  prodshield chaos run : {mine * 1000:7.1f} ms")
    print(f"  chaos run (baseline) : {base * 1000:7.1f} ms")
    print(f"  ratio                : {mine / base:7.2f}  (target <= 0.50)")


def transfers(seconds: float, pg: str) -> None:
    import psycopg

    from prodshield.chaos.batteries.db import DbOptions, run_db_battery

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    dsn = f"{pg}?options=-csearch_path%3D{schema}"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "proxy.log"
        with log.open("wb") as out:
            proxy = subprocess.Popen(
                [str(BIN / "prodshield"), "chaos", "proxy", "--port", "0"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            api = None
            while time.monotonic() < deadline and api is None:
                m = re.search(r"API on (http://\S+)", log.read_text(errors="replace"))
                api = m.group(1) if m else None
                time.sleep(0.05)
            if api is None:
                raise SystemExit("the proxy did not start")
            started = time.monotonic()
            report = run_db_battery(
                DbOptions(dsn=dsn, api=api, seconds=seconds, seed=1, checks=("bank",))
            )
            wall = time.monotonic() - started
        finally:
            proxy.terminate()
            proxy.wait(10)
            with psycopg.connect(pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    checks = {c.name: c for c in report.checks}
    bank = checks["bank invariant"].measured
    rate = checks["bank throughput under faults"].measured
    print(f"db battery bank test, {seconds:g} s, seed 1, {len(bank['faults'])} fault phases:")
    print(f"  transfers/s per worker : {rate['transfers_per_s_per_worker']:7.1f}  (target >= 50)")
    print(f"  transfers / reads      : {bank['transfers']} / {bank['reads']}")
    print(f"  valid                  : {bank['valid']} (indeterminate {bank['indeterminate']})")
    print(f"  wall-clock             : {wall:7.2f} s  (target <= {seconds + 5:g} s)")
    print(f"  load average           : {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=11)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--skip-db", action="store_true")
    args = p.parse_args()
    startup(args.runs)
    if not args.skip_db:
        transfers(args.seconds, args.pg)


if __name__ == "__main__":
    main()
