"""A 1 GB nginx access log: `prodshield logs digest` against GoAccess's report of the same file.

GoAccess (Debian package `goaccess`) is the usual tool for "what happened in this access log";
both produce an HTML report of the whole file in the same run, rounds alternating; medians.

    python benchmarks/logs_goaccess.py [--size-mb 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ENDPOINTS = [
    "/",
    "/api/v1/users",
    "/api/v1/orders",
    "/api/v1/items",
    "/api/v1/search",
    "/api/v1/login",
    "/static/app.js",
    "/static/site.css",
    "/api/v1/cart",
    "/api/v1/payments",
]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
    "curl/8.5.0",
    "Mozilla/5.00 (Nikto/2.5.0)",
]


def generate(path: Path, size_mb: int, seed: int = 5) -> int:
    rnd = random.Random(seed)
    ips = [
        f"{rnd.randint(11, 220)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
        for _ in range(5000)
    ]
    t = datetime(2026, 11, 24, tzinfo=UTC)
    # a block of distinct lines, repeated with shifting timestamps, keeps generation fast
    block = []
    for _ in range(20000):
        ep = rnd.choice(ENDPOINTS)
        status = rnd.choices([200, 304, 401, 404, 500, 503], [90, 4, 2, 2, 1, 1])[0]
        rt = rnd.lognormvariate(-3.5, 0.8)
        path_q = (
            f"{ep}/{rnd.randint(1, 99999)}" if ep.startswith("/api") and rnd.random() < 0.5 else ep
        )
        block.append(
            (rnd.choice(ips), path_q, status, rt, rnd.choice(AGENTS), rnd.randint(200, 90000))
        )
    target = size_mb * 1024 * 1024
    written = lines = 0
    with path.open("w") as fh:
        while written < target:
            for ip, p, status, rt, agent, size in block:
                t += timedelta(milliseconds=17)
                line = (
                    f'{ip} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "GET {p} HTTP/1.1" {status} {size} "-" '
                    f'"{agent}" {rt:.3f} {rt * 0.9:.3f}\n'
                )
                fh.write(line)
                written += len(line)
                lines += 1
                if written >= target:
                    break
    return lines


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed: {proc.stderr.strip()[:400]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    goaccess = shutil.which("goaccess")
    if not goaccess:
        sys.exit("goaccess is not installed (apt-get install goaccess)")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "access.log"
        t0 = time.perf_counter()
        lines = generate(log, args.size_mb)
        print(
            f"generated {log.stat().st_size / 2**20:.0f} MiB, {lines} lines in {time.perf_counter() - t0:.0f} s"
        )
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "prodshield",
                        "logs",
                        "digest",
                        str(log),
                        "--since",
                        "",
                        "--baseline",
                        "",
                        "--format",
                        "html",
                        "-o",
                        str(Path(tmp) / "digest.html"),
                    ]
                )
            )
            theirs.append(
                timed(
                    [
                        goaccess,
                        str(log),
                        "--log-format",
                        '%h %^ %e [%d:%t %^] "%r" %s %b "%R" "%u" %T %^',
                        "--date-format",
                        "%d/%b/%Y",
                        "--time-format",
                        "%T",
                        "--no-progress",
                        "-o",
                        str(Path(tmp) / "goaccess.html"),
                    ]
                )
            )
        ow, oc = statistics.median(w for w, _ in ours), statistics.median(c for _, c in ours)
        tw, tc = statistics.median(w for w, _ in theirs), statistics.median(c for _, c in theirs)
        print(f"prodshield logs digest: {ow:.1f} s wall, {oc:.1f} CPU-s (median of {args.rounds})")
        print(f"goaccess:               {tw:.1f} s wall, {tc:.1f} CPU-s (median of {args.rounds})")
        print(
            f"prodshield is {tw / ow:.2f}x faster by wall time, uses {oc / tc:.2f}x GoAccess's CPU"
        )


if __name__ == "__main__":
    main()
