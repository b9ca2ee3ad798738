"""The service's per-event path as a user runs it: ``prodshield serve`` following a growing file,
with the follower's lag read from ``/metrics``, against Drain3 with masking in the same run.

Usage: python benchmarks/logs_follow.py [--rates 5000,10000,20000,40000] [--seconds 10]

A writer appends Loghub-2k raw lines (all 16 systems, numbers and hex ids re-drawn; the file
benchmarks/logs_throughput.py builds) to the followed file at each offered rate in turn. For each
step it prints the lines the service read, the serve process's CPU seconds (user + system, from
/proc), lines per CPU-second, and the lag at the end of the step and its worst
(``prodshield_log_follower_bytes_behind`` / ``_seconds_behind``). A rate is sustained when the
follower ends the step less than one second of input behind. The service does everything it does
in production for each line: parse, mine, every detector, templates and hourly counts, findings
and offsets stored every window. Drain3 mines lines already in memory (no reading, parsing,
detection or storage), so the ratio flatters Drain3.

With ``--breakdown N`` it also says where the follower's CPU goes: the same N lines fed, in a fresh
process each, through the service's own loop (``LogService``) with the later stages switched
off: reading only; + parsing; + template mining (Drain3's work); + every detector; everything
(findings, templates and offsets stored every 100,000 lines' window).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import logs_throughput
from logs_throughput import DATA, build, run_drain3

_METRIC = re.compile(r'^(prodshield_log_follower_\w+)\{path="([^"]*)"\} (\S+)$', re.M)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _lag(port: int) -> tuple[float, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    values = {name: float(v) for name, _, v in _METRIC.findall(text)}
    return (
        values.get("prodshield_log_follower_bytes_behind", float("nan")),
        values.get("prodshield_log_follower_seconds_behind", float("nan")),
    )


STAGES = ("read", "parse", "mine", "detect", "store")
STAGE_LABELS = {
    "read": "read and decode lines",
    "parse": "+ parse into events",
    "mine": "+ mine templates (Drain3's work)",
    "detect": "+ every detector",
    "store": "+ store findings, templates, offsets (all of serve's work)",
}


def _stage(source: Path, lines: int, stage: str) -> float:
    """CPU seconds of the follower's loop over ``lines`` lines with the stages after ``stage``
    switched off (run in a fresh process)."""
    from prodshield.config import parse_config
    from prodshield.logs.service import LogService
    from prodshield.store import open_store

    gc.freeze()  # as `prodshield serve` does
    gc.set_threshold(50_000, 20, 100)
    data = source.read_bytes().splitlines(keepends=True)[:lines]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        followed = work / "app.log"
        followed.write_bytes(b"")
        text = "storage: sqlite:///store.db\nlogs:\n  sources: [{name: app, path: app.log, format: raw}]\n"
        loaded = parse_config(text, name=str(work / "shield.yaml"), env={}, fs_path=work / "x")
        store = open_store(f"sqlite:///{work / 'store.db'}")
        service = LogService(loaded, store)
        service._miner = service._load_miner()
        service._resolve()
        at = STAGES.index(stage)
        if at < STAGES.index("store"):
            service._flush_guarded = lambda: None
        if at < STAGES.index("detect"):
            collector = service._collector

            def no_detectors(events: Any) -> None:
                collector.done = len(events)

            collector.observe_many = no_detectors
        if at < STAGES.index("mine"):
            service._mine = lambda events: {}
        if at < STAGES.index("parse"):
            service._feed_guarded = lambda f, lines: None
        step = 20_000  # a second's writes at 20,000 lines/s
        chunks = [b"".join(data[i : i + step]) for i in range(0, len(data), step)]
        start = time.process_time()
        for n, chunk in enumerate(chunks, 1):
            with followed.open("ab") as out:
                out.write(chunk)
            service._poll_all()
            if n % 5 == 0:
                service._flush_guarded()
        service._flush_guarded()
        cpu = time.process_time() - start
        store.close()
    return cpu


def breakdown(source: Path, lines: int, drain_rate: float) -> None:
    print(f"\nWhere the follower's CPU goes ({lines:,} lines, each stage in a fresh process):")
    print("| stages | CPU-s | lines per CPU-s | vs Drain3 mining |")
    print("| --- | --- | --- | --- |")
    for stage in STAGES:
        out = subprocess.run(
            [sys.executable, __file__, "--stage", stage, "--breakdown", str(lines), str(source)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cpu = float(out.split()[-1])
        rate = lines / cpu
        print(
            f"| {STAGE_LABELS[stage]} | {cpu:.2f} | {rate:,.0f} | {rate / drain_rate:.1f}x |",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="5000,10000,20000,40000")
    parser.add_argument(
        "--breakdown", type=int, default=0, help="also feed this many lines stage by stage"
    )
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("source", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--drain3-lines", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=DATA, help="the loghub-2k folder")
    args = parser.parse_args(argv)
    if args.stage:  # one stage of --breakdown, in its own process
        print(_stage(args.source, args.breakdown, args.stage))
        return 0
    if not args.data.exists():
        print(f"loghub-2k not found at {args.data}", file=sys.stderr)
        return 2
    logs_throughput.DATA = args.data
    rates = [int(r) for r in args.rates.split(",")]
    need = int(sum(rates) * args.seconds) + 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "source.log"
        build(source, need)
        lines = source.read_bytes().splitlines(keepends=True)
        drain = run_drain3(source, args.drain3_lines)
        print(
            f"Drain3 with masking (in process, mining only): {drain['rate']:,.0f} lines/CPU-s",
            flush=True,
        )
        followed = work / "app.log"
        followed.write_bytes(b"")
        port = _free_port()
        (work / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            f"serve: {{port: {port}, token: bench-token-0123456789abcdef}}\n"
            "logs:\n  window: 5s\n  sources: [{name: app, path: app.log, format: raw}]\n"
        )
        serve = subprocess.Popen(
            [sys.executable, "-m", "prodshield", "serve", "-c", str(work / "shield.yaml")],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    _lag(port)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        print("serve did not start", file=sys.stderr)
                        return 1
                    time.sleep(0.3)
            time.sleep(22)  # the start-up digest (20 s after start) runs over the empty file
            print(
                "| offered lines/s | lines read | serve CPU-s | lines per CPU-s | vs Drain3 "
                "| behind at end (bytes / s) | worst behind (bytes) | sustained |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- | --- |")
            pos = 0
            with followed.open("ab", buffering=0) as out:
                for rate in rates:
                    cpu0 = _cpu(serve.pid)
                    written_before = followed.stat().st_size
                    behind_before = _lag(port)[0]
                    start = time.monotonic()
                    worst = 0.0
                    next_sample = start + 1.0
                    base = pos
                    while (now := time.monotonic()) - start < args.seconds:
                        target = min(len(lines), base + int((now - start) * rate))
                        if target > pos:
                            out.write(b"".join(lines[pos:target]))
                            pos = target
                        if now >= next_sample:
                            worst = max(worst, _lag(port)[0])
                            next_sample += 1.0
                        time.sleep(0.02)
                    bytes_behind, seconds_behind = _lag(port)
                    cpu = _cpu(serve.pid) - cpu0
                    written = followed.stat().st_size - written_before
                    read_bytes = written + behind_before - bytes_behind
                    avg = max(1.0, written / max(1, pos - base))
                    read_lines = read_bytes / avg
                    per_cpu = read_lines / cpu if cpu else float("nan")
                    sustained = bytes_behind < rate * avg
                    print(
                        f"| {rate:,} | {read_lines:,.0f} | {cpu:.2f} | {per_cpu:,.0f} | "
                        f"{per_cpu / drain['rate']:.1f}x | {bytes_behind:,.0f} / {seconds_behind:.1f} | "
                        f"{worst:,.0f} | {'yes' if sustained else 'no'} |",
                        flush=True,
                    )
            t0 = time.monotonic()
            while _lag(port)[0] > 0 and time.monotonic() - t0 < 120:
                time.sleep(0.5)
            print(f"caught up {time.monotonic() - t0:.1f} s after the writer stopped")
        finally:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(60)
            except subprocess.TimeoutExpired:
                serve.kill()
        if args.breakdown:  # serve is stopped: the stages have the machine to themselves
            breakdown(source, min(args.breakdown, len(lines)), drain["rate"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
