"""The service's per-event path as a user runs it: ``prodshield serve`` following a growing file,
with the follower's lag read from ``/metrics``, against Drain3 with masking in the same run.

Usage: python benchmarks/logs_follow.py [--rates 5000,10000,20000,40000] [--seconds 10]
       [--window 5] [--breakdown 100000]

A writer appends Loghub-2k raw lines (all 16 systems, numbers and hex ids re-drawn; the file
benchmarks/logs_throughput.py builds) to the followed file at each offered rate in turn. For each
step it prints the lines the service read, the serve process's CPU seconds (user + system, from
/proc), lines per CPU-second, and the lag at the end of the step and its worst
(``prodshield_log_follower_bytes_behind``; the seconds are the seconds of input those bytes
are). A rate is sustained when the
follower ends the step less than one second of input behind. The service does everything it does
in production for each line: parse, mine, every detector, templates and hourly counts, findings
and offsets stored every window (``logs.window``, ``--window``).

Two baselines, from the same run:
- Drain3 mining: Drain3 mines lines already in memory (no start-up, reading, parsing, detection or
  storage), so that ratio flatters Drain3;
- the Drain3 follower (benchmarks/drain3_follower.py): a subprocess doing serve's template work
  with Drain3, fed by the same writer at the same rates before serve runs: it tails the file,
  mines each line, keeps hourly counts per cluster and each cluster's template, writes counts,
  templates and its offset to SQLite in one transaction every window and snapshots Drain3's state
  every minute (``FilePersistence``). Its CPU comes from /proc and its lag is measured as serve's
  (bytes written and not read: the file's size less its descriptor's position).
Both followers' whole runs (start-up and idle polling included) are compared at the end. Before
serve starts, prodshield's modules are byte-compiled (``compileall``; into the ``__pycache__``
folders git ignores), as an installed package's are and as drain3's are in site-packages: with
``PYTHONDONTWRITEBYTECODE`` set, a source checkout would otherwise compile its ~250 modules again
at every start (about 0.2 CPU-s of serve's start-up that no user's install pays).

With ``--breakdown N`` it also says where the follower's CPU goes: the same N lines fed, in a fresh
process each, through the service's own loop (``LogService``) with the later stages switched
off: reading only; + parsing; + template mining (Drain3's work); + every detector; everything
(findings, templates and offsets stored every 100,000 lines' window); the Drain3 follower is fed
the same blocks the same way. Both import their libraries (polars; drain3) before the clock starts:
start-up is in the whole runs above, the stages are the per-line work.
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

            def no_detectors(events: Any, *_: Any) -> None:
                collector.done = len(events)

            collector.observe_many = no_detectors
            collector.observe_texts = no_detectors
        if at < STAGES.index("mine"):
            service._learn = lambda firsts, times: ([], {})
        if at < STAGES.index("parse"):
            service._feed_guarded = lambda f, lines, first_line=1: None
        try:  # imported before the clock starts, as the Drain3 follower's blocks import drain3
            from prodshield.logs.fastpath import load_polars

            load_polars()
        except ImportError:
            pass
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


def breakdown(source: Path, lines: int, drain_rate: float, work: Path) -> None:
    folder = work / "drain3-blocks"
    folder.mkdir()
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("drain3_follower.py")),
            "--blocks",
            str(lines),
            "--source",
            str(source),
            str(folder / "app.log"),
            str(folder / "store.db"),
            str(folder / "drain3_state.bin"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    follower_rate = lines / float(out.split()[-1])
    print(
        f"\nWhere the follower's CPU goes ({lines:,} lines, each stage in a fresh process; the "
        f"Drain3 follower fed the same way: {follower_rate:,.0f} lines/CPU-s):"
    )
    print("| stages | CPU-s | lines per CPU-s | vs Drain3 mining | vs Drain3 follower |")
    print("| --- | --- | --- | --- | --- |")
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
            f"| {STAGE_LABELS[stage]} | {cpu:.2f} | {rate:,.0f} | {rate / drain_rate:.1f}x "
            f"| {rate / follower_rate:.1f}x |",
            flush=True,
        )


def _fd_position(pid: int, path: Path) -> int | None:
    """Where process ``pid``'s open descriptor of ``path`` is (read from /proc)."""
    target = str(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != target:
                continue
            for row in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines():
                if row.startswith("pos:"):
                    return int(row.split()[1])
        except OSError:
            continue
    return None


class _Drain3Lag:
    """The Drain3 follower's bytes behind, measured as serve's: bytes written and not read yet
    (the file's size less its descriptor's position)."""

    def __init__(self, pid: int, path: Path) -> None:
        self.pid, self.path = pid, path

    def __call__(self) -> float:
        pos = _fd_position(self.pid, self.path)
        if pos is None:
            raise OSError("the Drain3 follower has not opened the file yet")
        return float(max(0, self.path.stat().st_size - pos))


Row = tuple[int, float, float, float, float]
"""offered rate, lines read, CPU-s, bytes behind at the end, worst bytes behind"""


def _drive(
    followed: Path,
    lines: list[bytes],
    rates: list[int],
    seconds: float,
    pid: int,
    lag: Any,
    show: Any,
) -> tuple[list[Row], float]:
    """Append ``lines`` to ``followed`` at each offered rate in turn for ``seconds``, measuring
    process ``pid`` (CPU from /proc) and its lag (``lag()``: bytes behind); ``show`` prints each
    step's row. Returns the rows and the seconds it took to catch up after the writer stopped."""
    rows: list[Row] = []
    pos = 0
    with followed.open("ab", buffering=0) as out:
        for rate in rates:
            cpu0 = _cpu(pid)
            written_before = followed.stat().st_size
            behind_before = lag()
            start = time.monotonic()
            worst = 0.0
            next_sample = start + 1.0
            base = pos
            while (now := time.monotonic()) - start < seconds:
                target = min(len(lines), base + int((now - start) * rate))
                if target > pos:
                    out.write(b"".join(lines[pos:target]))
                    pos = target
                if now >= next_sample:
                    worst = max(worst, lag())
                    next_sample += 1.0
                time.sleep(0.02)
            bytes_behind = lag()
            cpu = _cpu(pid) - cpu0
            written = followed.stat().st_size - written_before
            read_bytes = written + behind_before - bytes_behind
            avg = max(1.0, written / max(1, pos - base))
            row = (rate, read_bytes / avg, cpu, bytes_behind, max(worst, bytes_behind))
            rows.append(row)
            show(row, avg)
    t0 = time.monotonic()
    while lag() > 0 and time.monotonic() - t0 < 120:
        time.sleep(0.5)
    return rows, time.monotonic() - t0


def _byte_compile() -> None:
    """prodshield's modules byte-compiled, as an installed package's are (see the docstring)."""
    import prodshield

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(prodshield.__file__).parent)],
        stdout=subprocess.DEVNULL,
        check=False,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wait_for(probe: Any, what: str) -> bool:
    deadline = time.monotonic() + 60
    while True:
        try:
            probe()
            return True
        except OSError:
            if time.monotonic() > deadline:
                print(f"{what} did not start", file=sys.stderr)
                return False
            time.sleep(0.3)


def run_drain3_follower(
    work: Path,
    lines: list[bytes],
    rates: list[int],
    seconds: float,
    window_s: float,
    drain_rate: float,
) -> tuple[list[Row], float, float]:
    """The Drain3 follower (benchmarks/drain3_follower.py) as a subprocess over a growing file:
    its rows, its whole-run CPU seconds (start-up included) and the lines it read."""
    folder = work / "drain3"
    folder.mkdir()
    followed = folder / "app.log"
    followed.write_bytes(b"")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("drain3_follower.py")),
            str(followed),
            str(folder / "store.db"),
            str(folder / "drain3_state.bin"),
            "--window",
            str(window_s),
        ],
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    try:
        lag = _Drain3Lag(proc.pid, followed)
        if not _wait_for(lag, "the Drain3 follower"):
            return [], float("nan"), 0.0
        print(
            "\nDrain3 follower doing serve's template work (subprocess: tail, mine, hourly "
            f"counts and templates to SQLite every {window_s:g} s window, state every minute):"
        )
        print(_HEADER.replace(" | vs Drain3 follower", "").replace("serve", "Drain3 follower"))
        print(_RULE[: -len(" --- |")])

        def show(row: Row, avg: float) -> None:
            print(_row(row, avg, drain_rate, None), flush=True)

        rows, caught = _drive(followed, lines, rates, seconds, proc.pid, lag, show)
        print(f"caught up {caught:.1f} s after the writer stopped")
        total_cpu = _cpu(proc.pid)
        return rows, total_cpu, (followed.stat().st_size - lag()) / _avg_bytes(lines)
    finally:
        _stop(proc)


_HEADER = (
    "| offered lines/s | lines read | serve CPU-s | lines per CPU-s | vs Drain3 mining "
    "| vs Drain3 follower | behind at end (bytes / s of input) | worst behind (bytes) | sustained |"
)
_RULE = "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"


def _avg_bytes(lines: list[bytes]) -> float:
    return sum(map(len, lines)) / max(1, len(lines))


def _row(row: Row, avg: float, drain_rate: float, follower: Row | None) -> str:
    rate, read_lines, cpu, bytes_behind, worst = row
    per_cpu = read_lines / cpu if cpu else float("nan")
    sustained = bytes_behind < rate * avg
    vs = ""
    if follower is not None:
        theirs = follower[1] / follower[2] if follower[2] else float("nan")
        # a step where the Drain3 follower read nothing (it fell further behind) has no ratio
        vs = f" {per_cpu / theirs:.1f}x |" if theirs else " - |"
    return (
        f"| {rate:,} | {read_lines:,.0f} | {cpu:.2f} | {per_cpu:,.0f} | "
        f"{per_cpu / drain_rate:.1f}x |{vs} {bytes_behind:,.0f} / {bytes_behind / (rate * avg):.1f} | "
        f"{worst:,.0f} | {'yes' if sustained else 'no'} |"
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
    parser.add_argument("--window", type=float, default=5.0, help="logs.window, both followers")
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
        theirs, their_cpu, their_lines = run_drain3_follower(
            work, lines, rates, args.seconds, args.window, drain["rate"]
        )
        followed = work / "app.log"
        followed.write_bytes(b"")
        _byte_compile()
        port = _free_port()
        (work / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            f"serve: {{port: {port}, token: bench-token-0123456789abcdef}}\n"
            f"logs:\n  window: {args.window:g}s\n"
            "  sources: [{name: app, path: app.log, format: raw}]\n"
        )
        serve = subprocess.Popen(
            [sys.executable, "-m", "prodshield", "serve", "-c", str(work / "shield.yaml")],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if not _wait_for(lambda: _lag(port)[0], "serve"):
                return 1
            time.sleep(22)  # the start-up digest (20 s after start) runs over the empty file
            print("\nprodshield serve (the same writer, the same lines):")
            print(_HEADER)
            print(_RULE)
            by_rate = {row[0]: row for row in theirs}

            def show(row: Row, avg: float) -> None:
                print(_row(row, avg, drain["rate"], by_rate.get(row[0])), flush=True)

            _, caught = _drive(
                followed, lines, rates, args.seconds, serve.pid, lambda: _lag(port)[0], show
            )
            print(f"caught up {caught:.1f} s after the writer stopped")
            our_cpu = _cpu(serve.pid)
            our_lines = (followed.stat().st_size - _lag(port)[0]) / _avg_bytes(lines)
        finally:
            _stop(serve)
        print(
            "\nWhole runs, start-up and idle polling included (CPU-s from the process's start; "
            "serve's also holds its start-up digest over the empty file): "
            f"serve {our_lines:,.0f} lines in {our_cpu:.2f} CPU-s ({our_lines / our_cpu:,.0f} "
            f"lines/CPU-s); Drain3 follower {their_lines:,.0f} lines in {their_cpu:.2f} CPU-s "
            f"({their_lines / their_cpu:,.0f} lines/CPU-s); ratio "
            f"{(our_lines / our_cpu) / (their_lines / their_cpu or float('nan')):.1f}x"
        )
        if args.breakdown:  # the followers are stopped: the stages have the machine to themselves
            breakdown(source, min(args.breakdown, len(lines)), drain["rate"], work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
