"""Soak: `prodshield serve` for a long run with 2,000 checks, a log growing at 1,000 lines/s and
the chaos proxy under load; is anything creeping up?

    python benchmarks/soak.py [--minutes 30] [--checks 2000] [--interval 30] [--log-rate 1000]

Every check goes to a loopback HTTP target through `prodshield chaos proxy` (a latency toxic of
2 ms +- 1 ms), so the proxy carries the whole check load. Every 30 s the script samples serve's
resident memory, open file descriptors and /metrics (scheduler lag; live Python heap blocks:
growing with the memory, objects pile up; flat while it grows, the allocator fragments), and the
proxy's memory and descriptors. It prints the samples and, over the run after a warm-up of a fifth of it, the slope of
each (least squares, per hour) with the lag p99 of each sample. Baseline: the same figures at the
start of the run (a flat line is the claim: slopes near 0).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.crash_harness import flapping_target  # a threaded loopback HTTP target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else 0.0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def metric(port: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.eE+-]+)$", text, re.M)
    return float(m.group(1)) if m else None


def slope_per_hour(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 3:
        return float("nan")
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return (
        3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0
    )


class LogWriter(threading.Thread):
    def __init__(self, path: Path, rate: int) -> None:
        super().__init__(daemon=True)
        self.path, self.rate, self.lines = path, rate, 0
        self.halt = threading.Event()

    def run(self) -> None:
        with self.path.open("a") as fh:
            next_at = time.monotonic()
            while not self.halt.is_set():
                batch = []
                for _ in range(self.rate // 10):
                    self.lines += 1
                    n = self.lines
                    if n % 500 == 0:
                        batch.append(
                            f"2026-11-26 10:00:00 ERROR app FATAL could not connect to server n={n}\n"
                        )
                    else:
                        batch.append(
                            f"2026-11-26 10:00:00 INFO app GET /orders/{n} 200 in {n % 97} ms\n"
                        )
                fh.write("".join(batch))
                fh.flush()
                next_at += 0.1
                time.sleep(max(0.0, next_at - time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--checks", type=int, default=2000)
    ap.add_argument("--interval", type=int, default=30)
    ap.add_argument("--log-rate", type=int, default=1000)
    ap.add_argument("--sample-s", type=float, default=30)
    ap.add_argument(
        "--serve-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for serve (e.g. PYTHONMALLOC=malloc, MALLOC_ARENA_MAX=2); "
        "run two soaks at once, one with and one without, to compare under the same load",
    )
    ap.add_argument(
        "--retention",
        default="{raw_results: 20m, log_findings: 20m, log_counts: 1h, outbox: 20m, every: 2m}",
        help="the retention: section of serve's config (short, so it acts during the run)",
    )
    args = ap.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="prodshield-soak-") as tmp, flapping_target() as target:
        work = Path(tmp)
        api_port, listen_port, serve_port = free_port(), free_port(), free_port()
        upstream = target.removeprefix("http://")
        proxies = work / "proxies.json"
        proxies.write_text(
            json.dumps(
                [{"name": "web", "listen": f"127.0.0.1:{listen_port}", "upstream": upstream}]
            )
        )
        proxy = subprocess.Popen(
            [
                py,
                "-m",
                "prodshield",
                "chaos",
                "proxy",
                "--port",
                str(api_port),
                "--config",
                str(proxies),
            ],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60  # the proxy's API answers (slowly on a busy machine)
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{api_port}/version", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or proxy.poll() is not None:
                    raise
                time.sleep(0.5)
        req = urllib.request.Request(
            f"http://127.0.0.1:{api_port}/proxies/web/toxics",
            data=json.dumps(
                {"type": "latency", "attributes": {"latency": 2, "jitter": 1}}
            ).encode(),
            method="POST",
        )
        urllib.request.urlopen(req, timeout=10).read()
        checks = "\n".join(
            f'  - {{name: c{i:04d}, type: http, url: "http://127.0.0.1:{listen_port}/c{i}"}}'
            for i in range(args.checks)
        )
        (work / "shield.yaml").write_text(f"""
storage: "sqlite:///{work / "soak.db"}"
defaults: {{interval: {args.interval}s, timeout: 5s}}
checks:
{checks}
logs:
  sources: [{{name: app, path: "{work / "app.log"}", format: raw}}]
serve: {{host: 127.0.0.1, port: {serve_port}}}
retention: {args.retention}
""")
        writer = LogWriter(work / "app.log", args.log_rate)
        writer.start()
        serve = subprocess.Popen(
            [py, "-m", "prodshield", "serve", "-c", str(work / "shield.yaml")],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=(work / "serve.log").open("w"),
            env={**os.environ, **dict(kv.split("=", 1) for kv in args.serve_env)},
        )
        start = time.monotonic()
        samples: list[dict[str, float]] = []
        print(
            "| t (s) | serve RSS MB | serve heap k blocks | serve fds | lag s | proxy RSS MB "
            "| proxy fds | log lines | store MB |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        try:
            while time.monotonic() - start < args.minutes * 60:
                time.sleep(args.sample_s)
                if serve.poll() is not None or proxy.poll() is not None:
                    print("a process ended early; see serve.log", file=sys.stderr)
                    return 1
                s = {
                    "t": time.monotonic() - start,
                    "rss": rss_mb(serve.pid),
                    "fds": fds(serve.pid),
                    "lag": metric(serve_port, "prodshield_scheduler_lag_seconds") or 0.0,
                    "blocks": (metric(serve_port, "prodshield_python_heap_blocks") or 0.0) / 1000,
                    "store": (metric(serve_port, "prodshield_store_bytes") or 0.0) / 2**20,
                    "prss": rss_mb(proxy.pid),
                    "pfds": fds(proxy.pid),
                }
                samples.append(s)
                print(
                    f"| {s['t']:.0f} | {s['rss']:.1f} | {s['blocks']:.0f} | {s['fds']:.0f} | "
                    f"{s['lag']:.3f} | "
                    f"{s['prss']:.1f} | {s['pfds']:.0f} | {writer.lines} | {s['store']:.1f} |",
                    flush=True,
                )
        finally:
            writer.halt.set()
            for p in (serve, proxy):
                p.send_signal(signal.SIGTERM)
            for p in (serve, proxy):
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
        steady = [s for s in samples if s["t"] >= args.minutes * 60 / 5]
        xs = [s["t"] for s in steady]
        print()
        print(
            f"{args.checks} checks every {args.interval} s, {args.log_rate} log lines/s, "
            f"{len(samples)} samples over {args.minutes:.0f} min, serve env {args.serve_env}; "
            "slopes after the first fifth:"
        )
        for key, label, unit in (
            ("rss", "serve resident memory", "MB"),
            ("blocks", "serve Python heap (live blocks)", "k blocks"),
            ("fds", "serve open descriptors", "fds"),
            ("lag", "scheduler lag p99", "s"),
            ("prss", "proxy resident memory", "MB"),
            ("pfds", "proxy open descriptors", "fds"),
            ("store", "store size", "MB"),
        ):
            ys = [s[key] for s in steady]
            if ys:
                print(
                    f"  {label}: first {ys[0]:.3f} {unit}, last {ys[-1]:.3f} {unit}, "
                    f"slope {slope_per_hour(xs, ys):+.3f} {unit}/hour"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
