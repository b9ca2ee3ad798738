"""Benchmark: the prodshield chaos proxy (no toxics) against a direct connection, with HAProxy
(one thread) and socat measured in the same run as reference proxies.

Rounds alternate between targets; figures are medians over rounds, and each ratio is shown twice:
the ratio of the medians, and the median of the per-round ratios (each proxy against the direct
connection measured minutes apart at most, which follows a shared machine's drifting load better).
All processes are left to the scheduler, the same for every target. Every load run is bounded in
time. Needs pgbench (postgresql-contrib), wrk, haproxy, socat and PostgreSQL on 127.0.0.1:5432.

    python benchmarks/proxy.py [--rounds 3] [--seconds 4] [--only wrk,bulk] [--python-path]
        [--loop-path] [--no-socat]

Measures: pgbench -S -c10 -j2 TPS; wrk -t1 -c50 on a small page; CPU per transaction of the proxy
process at a fixed 2000 tps (pgbench -R 2000); added p50 latency at one client (HTTP keep-alive
request/response round trips); bulk MB/s with wrk -c4 on a 1 MiB file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PG = ("127.0.0.1", 5432)
PG_DB = "prodshield_bench"
SMALL_PAGE = b"<html><body>" + b"hello " * 100 + b"</body></html>"
BIG = os.urandom(1 << 20)
TICKS = os.sysconf("SC_CLK_TCK")


# -- the HTTP backend: a tiny keep-alive responder (uvloop Protocol), run as a subprocess --------
def _response(body: bytes, ctype: str) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class _Http(asyncio.Protocol):
    small = _response(SMALL_PAGE, "text/html")
    big = _response(BIG, "application/octet-stream")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            request, self.buf = self.buf[:end], self.buf[end + 4 :]
            self.transport.write(self.big if b" /big " in request[:64] else self.small)  # type: ignore[attr-defined]


def run_backend(port: int) -> None:
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Http, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    uvloop.run(main())


# -- helpers ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {limit} s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and of children it reaped)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def foreign_cpu() -> dict[int, float]:
    """CPU seconds (utime + stime) of every user process on the machine that is not this benchmark
    or one of its descendants: the other load a shared machine carries while a figure is measured.
    Kernel threads are left out: ksoftirqd and kworkers also do the benchmark's own network work."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    me = os.getpid()

    def ours(pid: int) -> bool:
        for _ in range(64):
            if pid == me:
                return True
            if pid <= 1 or pid not in stats:
                return False
            pid = stats[pid][0]
        return False

    return {
        pid: cpu
        for pid, (ppid, cpu) in stats.items()
        if pid != 2 and ppid != 2 and not ours(pid)  # 2: kthreadd, parent of kernel threads
    }


def run(cmd: list[str], timeout: float) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {result.stderr.strip()[:500]}")
    return result.stdout


def pgbench(port: int, seconds: int, extra: list[str]) -> tuple[float, int]:
    out = run(
        [
            "pgbench",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-n",
            "-S",
            "-T",
            str(seconds),
            *extra,
            PG_DB,
        ],
        timeout=seconds + 30,
    )
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))  # type: ignore[union-attr]
    return tps, done


def wrk(port: int, path: str, connections: int, seconds: int) -> tuple[float, float]:
    """Requests/s and bytes/s."""
    out = run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            f"http://127.0.0.1:{port}{path}",
        ],
        timeout=seconds + 30,
    )
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    scale = {"B": 1, "KB": 1024, "MB": 1 << 20, "GB": 1 << 30}[m.group(2)]  # type: ignore[union-attr]
    return rps, float(m.group(1)) * scale  # type: ignore[union-attr]


def p50_roundtrip(port: int, n: int = 3000) -> float:
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    expect = len(_Http.small)
    times = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            start = time.perf_counter()
            sock.sendall(request)
            got = 0
            while got < expect:
                got += len(sock.recv(65536))
            times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- the targets --------------------------------------------------------------------------------
class Target:
    def __init__(self, name: str, pg_port: int, web_port: int, pid: int | None) -> None:
        self.name, self.pg_port, self.web_port, self.pid = name, pg_port, web_port, pid


def start_targets(
    web_backend: int,
    tmp: Path,
    python_path: bool = False,
    loop_path: bool = False,
    socat: bool = True,
) -> tuple[list[Target], list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    targets = [Target("direct", PG[1], web_backend, None)]

    # prodshield: the real CLI, proxies from a Toxiproxy config file
    api, ps_pg, ps_web = free_port(), free_port(), free_port()
    config = tmp / "proxies.json"
    config.write_text(
        json.dumps(
            [
                {"name": "pg", "listen": f"127.0.0.1:{ps_pg}", "upstream": f"127.0.0.1:{PG[1]}"},
                {
                    "name": "web",
                    "listen": f"127.0.0.1:{ps_web}",
                    "upstream": f"127.0.0.1:{web_backend}",
                },
            ]
        )
    )
    prodshield = Path(sys.executable).with_name("prodshield")
    procs.append(
        subprocess.Popen(
            [str(prodshield), "chaos", "proxy", "--port", str(api), "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    targets.append(Target("prodshield", ps_pg, ps_web, procs[-1].pid))
    variants = []
    if loop_path:
        # the same proxy without the relay thread: toxic-free bytes move on the event loop (the
        # reading protocol's data_received is the other transport's bound write)
        variants.append(
            ("prodshield-loop", "import prodshield.chaos.proxy.relay as r; r.RELAY = None; ")
        )
    if python_path:
        # the same proxy with its no-toxic path in Python (data_received writes and counts, as
        # before the kernel-counted path): what binding the other socket's write saves
        variants.append(
            (
                "prodshield-py",
                "import prodshield.chaos.proxy.link as link; "
                "link.bytes_received = lambda *args: None; ",
            )
        )
    for name, patch in variants:
        api2, py_pg, py_web = free_port(), free_port(), free_port()
        config2 = tmp / f"proxies-{name}.json"
        config2.write_text(
            config.read_text()
            .replace(f"127.0.0.1:{ps_pg}", f"127.0.0.1:{py_pg}")
            .replace(f"127.0.0.1:{ps_web}", f"127.0.0.1:{py_web}")
        )
        code = (
            f"import sys; {patch}"
            "from prodshield.cli.entry import main; "
            f"sys.argv = ['prodshield', 'chaos', 'proxy', '--port', '{api2}', '--config', "
            f"'{config2}']; main()"
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        targets.append(Target(name, py_pg, py_web, procs[-1].pid))

    if shutil.which("haproxy"):
        hp_pg, hp_web = free_port(), free_port()
        cfg = tmp / "haproxy.cfg"
        cfg.write_text(
            "global\n  nbthread 1\n  maxconn 4096\n"
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n"
            f"listen pg\n  bind 127.0.0.1:{hp_pg}\n  server s1 127.0.0.1:{PG[1]}\n"
            f"listen web\n  bind 127.0.0.1:{hp_web}\n  server s1 127.0.0.1:{web_backend}\n"
        )
        procs.append(
            subprocess.Popen(
                ["haproxy", "-db", "-f", str(cfg)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        targets.append(Target("haproxy", hp_pg, hp_web, procs[-1].pid))
    if socat and shutil.which("socat"):
        so_pg, so_web = free_port(), free_port()
        pids = []
        for listen, upstream in ((so_pg, PG[1]), (so_web, web_backend)):
            procs.append(
                subprocess.Popen(
                    [
                        "socat",
                        f"TCP-LISTEN:{listen},bind=127.0.0.1,fork,reuseaddr,backlog=1024",
                        f"TCP:127.0.0.1:{upstream},nodelay",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            pids.append(procs[-1].pid)
        # socat forks a process per connection: its CPU cannot be read reliably, so none is shown
        targets.append(Target("socat", so_pg, so_web, None))
    for t in targets:
        wait_port(t.pg_port, 120)  # start-up takes seconds on a loaded machine
        wait_port(t.web_port, 120)
    return targets, procs


def prepare_pg() -> None:
    exists = run(
        [
            "psql",
            "-h",
            PG[0],
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-Atc",
            f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'",
        ],
        timeout=30,
    )
    if not exists.strip():
        run(
            [
                "psql",
                "-h",
                PG[0],
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                f"CREATE DATABASE {PG_DB}",
            ],
            timeout=30,
        )
    run(["pgbench", "-h", PG[0], "-U", "postgres", "-i", "-q", "-s", "1", PG_DB], timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated subset of: pgbench, wrk, bulk, cpu, latency (default: all)",
    )
    parser.add_argument(
        "--python-path",
        action="store_true",
        help="also measure prodshield with its no-toxic path in Python (prodshield-py)",
    )
    parser.add_argument(
        "--loop-path",
        action="store_true",
        help="also measure prodshield without its relay thread (prodshield-loop: toxic-free "
        "bytes moved by the event loop)",
    )
    parser.add_argument("--no-socat", action="store_true", help="leave socat out (shorter rounds)")
    parser.add_argument("--backend", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        run_backend(args.backend)
        return
    for tool in ("pgbench", "wrk", "psql"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (see .ci/apt-packages)")
    prepare_pg()
    web_port = free_port()
    backend = subprocess.Popen([sys.executable, __file__, "--backend", str(web_port)])
    procs: list[subprocess.Popen[bytes]] = [backend]
    try:
        wait_port(web_port)
        with tempfile.TemporaryDirectory() as tmp:
            targets, started = start_targets(
                web_port, Path(tmp), args.python_path, args.loop_path, not args.no_socat
            )
            procs += started
            only = {name for name in args.only.split(",") if name}
            measure(targets, args.rounds, args.seconds, only)
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def measure(targets: list[Target], rounds: int, seconds: int, only: set[str]) -> None:
    results: dict[str, dict[str, list[float]]] = {t.name: {} for t in targets}

    def record(target: Target, key: str, value: float) -> None:
        results[target.name].setdefault(key, []).append(value)

    benches: list[tuple[str, Callable[[Target], None]]] = []

    def b_pgbench(t: Target) -> None:
        record(t, "pgbench_tps", pgbench(t.pg_port, seconds, ["-c10", "-j2"])[0])

    def b_small(t: Target) -> None:
        before = cpu_seconds(t.pid) if t.pid else 0.0
        others = foreign_cpu()
        start = time.monotonic()
        rps = wrk(t.web_port, "/", 50, seconds)[0]
        elapsed = time.monotonic() - start
        others_after = foreign_cpu()
        foreign = sum(cpu - others.get(pid, 0.0) for pid, cpu in others_after.items())
        record(t, "wrk_rps", rps)
        record(t, "foreign_cores", foreign / elapsed)
        if t.pid:
            record(t, "cpu_us_per_req", (cpu_seconds(t.pid) - before) / (rps * seconds) * 1e6)

    def b_bulk(t: Target) -> None:
        record(t, "bulk_MBps", wrk(t.web_port, "/big", 4, seconds)[1] / 1e6)

    def b_cpu(t: Target) -> None:
        if t.pid is None:
            return
        before = cpu_seconds(t.pid)
        _, done = pgbench(t.pg_port, seconds, ["-c10", "-j2", "-R", "2000"])
        record(t, "cpu_us_per_tx", (cpu_seconds(t.pid) - before) / done * 1e6)

    def b_latency(t: Target) -> None:
        record(t, "p50_us", p50_roundtrip(t.web_port) * 1e6)

    benches = [
        ("pgbench", b_pgbench),
        ("wrk small", b_small),
        ("bulk", b_bulk),
        ("cpu@2000tps", b_cpu),
        ("latency", b_latency),
    ]
    if only:
        unknown = only - {"pgbench", "wrk", "bulk", "cpu", "latency"}
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        benches = [b for b in benches if b[0].split("@")[0].split()[0] in only]
    load_before = os.getloadavg()
    for r in range(rounds):
        order = targets[r % len(targets) :] + targets[: r % len(targets)]
        for label, bench in benches:
            for t in order:
                print(f"round {r + 1}/{rounds} {label:12s} {t.name}", file=sys.stderr, flush=True)
                bench(t)
    load_after = os.getloadavg()
    report(results)
    print(
        f"\n{os.cpu_count()} CPUs; load average (1, 5, 15 min) before "
        + " ".join(f"{x:.1f}" for x in load_before)
        + ", after "
        + " ".join(f"{x:.1f}" for x in load_after)
    )


def report(results: dict[str, dict[str, list[float]]]) -> None:
    med = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in results.items()}
    direct = med["direct"]
    names = [n for n in med if n != "direct"]
    print("\nchaos proxy benchmark (medians; ratios against direct in the same run)\n")
    header = f"{'measure':34s}{'direct':>12s}" + "".join(f"{n:>22s}" for n in names)
    print(header)
    print("-" * len(header))

    def row(label: str, key: str, fmt: str, ratio: bool, floor: str = "") -> None:
        if not any(key in med[n] for n in med):
            return
        cells = (
            f"{label:34s}{format(direct[key], fmt):>12s}"
            if key in direct
            else f"{label:34s}{'-':>12s}"
        )
        for n in names:
            v = med[n].get(key)
            if v is None:
                cells += f"{'-':>22s}"
            elif ratio:
                cells += f"{format(v, fmt) + f' ({v / direct[key]:.0%})':>22s}"
            else:
                cells += f"{format(v, fmt):>22s}"
        print(cells + (f"   target {floor}" if floor else ""))

    row("pgbench -S -c10 -j2 TPS", "pgbench_tps", ".0f", True, ">= 70% of direct")
    row("wrk -t1 -c50 small page req/s", "wrk_rps", ".0f", True, ">= 75% of direct")
    row("bulk wrk -c4 1 MiB file MB/s", "bulk_MBps", ".0f", True, ">= 250 MB/s")
    row("CPU per tx at 2000 tps (µs)", "cpu_us_per_tx", ".1f", False, "<= 80 µs")
    row("CPU per small-page request (µs)", "cpu_us_per_req", ".1f", False)
    if "p50_us" in direct:
        print(
            f"{'p50 round trip, one client (µs)':34s}{direct['p50_us']:>12.1f}"
            + "".join(
                f"{med[n]['p50_us']:>14.1f} (+{med[n]['p50_us'] - direct['p50_us']:.0f})"
                for n in names
            )
            + "   target added <= 100 µs"
        )
    # each round ran every target back to back: the per-round ratios pair measurements taken
    # close together in time
    paired = [
        ("pgbench -S -c10 -j2 TPS", "pgbench_tps"),
        ("wrk -t1 -c50 small page req/s", "wrk_rps"),
        ("bulk wrk -c4 1 MiB file MB/s", "bulk_MBps"),
    ]
    lines = []
    for label, key in paired:
        base = results["direct"].get(key)
        if not base:
            continue
        cells = f"{label:34s}{'':>12s}"
        for n in names:
            ratios = [v / d for v, d in zip(results[n].get(key, []), base, strict=False) if d]
            if not ratios:
                cells += f"{'-':>22s}"
                continue
            cell = f"{statistics.median(ratios):.0%} [{min(ratios):.0%}-{max(ratios):.0%}]"
            cells += f"{cell:>22s}"
        lines.append(cells)
    if lines:
        print("\nper-round ratios against direct: median [min-max]")
        print("\n".join(lines))
    _against_haproxy(results)
    if "foreign_cores" in results["direct"]:
        print(
            "\nCPU of user processes outside the benchmark during the wrk small-page runs (cores, "
            "median [max]; processes that ended meanwhile are not counted):\n"
            + "  ".join(
                f"{name} {statistics.median(r['foreign_cores']):.2f} [{max(r['foreign_cores']):.2f}]"
                for name, r in results.items()
                if r.get("foreign_cores")
            )
        )


def _against_haproxy(results: dict[str, dict[str, list[float]]]) -> None:
    """The issue's goal: prodshield's small-page throughput at least 0.9x HAProxy's (one thread),
    both measured in this run; the ratio of the medians and the median of per-round ratios, and
    the CPU per request of each (the figure a shared machine's load disturbs least)."""
    theirs = results.get("haproxy", {})
    if not theirs.get("wrk_rps"):
        return
    b = theirs["wrk_rps"]
    for name in [n for n in results if n.startswith("prodshield")]:
        a = results[name].get("wrk_rps")
        if not a:
            continue
        paired = [x / y for x, y in zip(a, b, strict=False) if y]
        print(
            f"\nwrk small page, {name} / HAProxy (same run, {len(a)} rounds): "
            f"{statistics.median(a):.0f} / {statistics.median(b):.0f} req/s = "
            f"{statistics.median(a) / statistics.median(b):.2f}x (per-round median "
            f"{statistics.median(paired):.2f}x [{min(paired):.2f}-{max(paired):.2f}])"
            "   goal >= 0.90x"
        )
        cpu_a, cpu_b = results[name].get("cpu_us_per_req"), theirs.get("cpu_us_per_req")
        if cpu_a and cpu_b:
            cpu_paired = [y / x for x, y in zip(cpu_a, cpu_b, strict=False) if x]
            print(
                f"CPU per small-page request: {name} {statistics.median(cpu_a):.1f} µs, "
                f"HAProxy {statistics.median(cpu_b):.1f} µs (HAProxy's CPU / {name}'s, "
                f"per-round median {statistics.median(cpu_paired):.2f}x)"
            )


if __name__ == "__main__":
    main()
