"""Monitor benchmark: CPU per 1,000 checks against prometheus-blackbox-exporter, and scale.

    python benchmarks/monitor.py                 # everything (about 4 minutes)
    python benchmarks/monitor.py --quick         # shorter phases, fewer rounds

Part 1, cost per check. Local HTTP and HTTPS targets on loopback (an aiohttp server in its own
process, so its CPU is not counted), a new connection per check. prodshield runs its real path (the
scheduler, the http check, conditions ``[STATUS] == 200`` and ``[BODY].status == UP``, results
batched into a SQLite store); blackbox_exporter gets ``/probe`` requests at the same rate with the
equivalent module (status 200, body matches ``UP``). CPU is read from ``/proc/<pid>/stat`` for
blackbox_exporter and from the process clock for prodshield, over the same number of seconds, in the
same run, alternating order each round; medians over the rounds.

Part 2, scale (in a fresh process, so memory is its own): 10,000 HTTP endpoints on a 30 s interval
for ``--scale-seconds`` (default 75 s, 2.5 cycles; a documented shortening of a long run): scheduling
lag p99/max, missed slots, resident memory, memory per check; then checks/s at saturation.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
HOSTS = [f"127.0.0.{i}" for i in range(1, 33)]  # all loopback


# --- helpers ---------------------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def make_certs(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a leaf certificate for 127.0.0.1 (ca, cert, key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


# --- the target server (its own process) -----------------------------------------------------------


class _Answer(asyncio.Protocol):
    """Answers every request on the connection with one small JSON document (HTTP/1.1)."""

    BODY = json.dumps({"status": "UP", "version": "1.0"}).encode()
    RESPONSE = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(BODY), BODY)
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            _, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.transport.write(self.RESPONSE)  # type: ignore[attr-defined]


def serve(port: int, cert: str | None, key: str | None) -> None:
    """A minimal HTTP(S) target (a raw asyncio protocol on uvloop), so the target costs little
    CPU next to the probers being measured."""
    import ssl

    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        # Several loopback addresses, as 10,000 endpoints live on many hosts; this also keeps the
        # probers' ephemeral ports (TIME_WAIT after each closed connection) from running out.
        servers = [
            await loop.create_server(
                _Answer, host, port, ssl=ctx, backlog=4096, reuse_address=True, reuse_port=True
            )
            for host in HOSTS
        ]
        await asyncio.gather(*(s.serve_forever() for s in servers))

    from prodshield.monitor.api import run_async

    run_async(run())


# --- prodshield side -----------------------------------------------------------------------------


def shield_targets(urls: list[str], interval: float, timeout: float, ca: str | None) -> list[Any]:
    from prodshield.config.schema import ShieldConfig
    from prodshield.monitor.api import expand_checks

    checks = [
        {
            "name": f"c{i}",
            "type": "http",
            "url": url,
            "interval": interval,
            "timeout": timeout,
            "conditions": ["[STATUS] == 200", "[BODY].status == UP"],
            **({"ca_file": ca} if ca and url.startswith("https") else {}),
        }
        for i, url in enumerate(urls)
    ]
    return expand_checks(ShieldConfig.model_validate({"checks": checks}))


def prodshield_cost(
    url: str, rate: int, seconds: float, ca: str | None, db: Path
) -> dict[str, Any]:
    """Run ``2 * rate`` targets on a 2 s interval (``rate`` checks/s) for ``seconds``."""
    from prodshield.monitor.api import run_async
    from prodshield.monitor.probe import Probe
    from prodshield.monitor.scheduler import Scheduler
    from prodshield.store import open_store

    store = open_store(f"sqlite:///{db}")
    targets = shield_targets([url] * (2 * rate), 2.0, 5.0, ca)

    async def go() -> tuple[float, Any]:
        async with Probe(store) as probe:
            scheduler = Scheduler(targets, probe, store, flush_interval=1.0)
            probe.prepare(targets)
            c0 = time.process_time()
            await scheduler.run(duration=seconds)
            return time.process_time() - c0, scheduler.stats

    cpu, stats = run_async(go())
    store.close()
    return {
        "cpu": cpu,
        "checks": stats.completed,
        "failed": stats.failed,
        "stored": stats.written,
        "missed": stats.missed,
        "overlapped": stats.overlapped,
        "lag_p99_ms": (stats.lag_percentile(99) or 0) * 1000,
    }


# --- blackbox_exporter side ------------------------------------------------------------------------


def start_blackbox(folder: Path, ca: str) -> tuple[subprocess.Popen[bytes], int]:
    config = folder / "blackbox.yml"
    config.write_text(
        f"""\
modules:
  http_ok:
    prober: http
    timeout: 5s
    http:
      valid_status_codes: [200]
      fail_if_body_not_matches_regexp: ["UP"]
      preferred_ip_protocol: ip4
      tls_config:
        ca_file: {ca}
"""
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            shutil.which("prometheus-blackbox-exporter") or "prometheus-blackbox-exporter",
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc, port


def blackbox_cost(pid: int, port: int, url: str, rate: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    async def go() -> dict[str, Any]:
        ok = failed = 0
        probe_url = f"http://127.0.0.1:{port}/probe"
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one() -> None:
                nonlocal ok, failed
                async with session.get(
                    probe_url, params={"module": "http_ok", "target": url}
                ) as resp:
                    text = await resp.text()
                if "probe_success 1" in text:
                    ok += 1
                else:
                    failed += 1

            await one()  # warm the keep-alive connection
            ok = failed = 0
            tasks = []
            c0 = proc_cpu(pid)
            loop = asyncio.get_running_loop()
            start = loop.time()
            n = int(rate * seconds)
            for i in range(n):
                delay = start + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one()))
            await asyncio.gather(*tasks, return_exceptions=True)
            cpu = proc_cpu(pid) - c0
        return {"cpu": cpu, "checks": ok + failed, "failed": failed}

    from prodshield.monitor.api import run_async

    return run_async(go())


def _error_kinds(store: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from prodshield.store import tables as t

    r = t.check_results
    with store.connect() as conn:
        rows = conn.execute(
            select(r.c.error_kind, func.count()).where(r.c.ok.is_(False)).group_by(r.c.error_kind)
        )
        return {str(kind): int(n) for kind, n in rows}


# --- scale (a fresh process) -----------------------------------------------------------------------


def scale_worker(port: int, n: int, interval: float, seconds: float, saturate: int) -> None:
    from prodshield.monitor.api import raise_open_files_limit, run_async
    from prodshield.monitor.probe import Probe
    from prodshield.monitor.scheduler import Scheduler
    from prodshield.store import open_store

    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    store = open_store(f"sqlite:///{folder / 'scale.db'}")
    base_rss, _ = rss_mb()
    urls = [f"http://{HOSTS[i % len(HOSTS)]}:{port}/ok?endpoint={i}" for i in range(n)]
    targets = shield_targets(urls, interval, 5.0, None)
    out: dict[str, Any] = {}

    async def go() -> None:
        async with Probe(store) as probe:
            scheduler = Scheduler(targets, probe, store)
            raise_open_files_limit(scheduler.cap + 1024)
            c0, w0 = time.process_time(), time.monotonic()
            await scheduler.run(duration=seconds)
            stats = scheduler.stats
            rss, hwm = rss_mb()
            elapsed = time.monotonic() - w0
            expected = sum(
                int(max(0.0, seconds - k * interval / n) // interval) + 1 for k in range(n)
            )
            out.update(
                targets=n,
                interval=interval,
                seconds=seconds,
                started=stats.started,
                expected_starts=expected,
                completed=stats.completed,
                failed=stats.failed,
                missed=stats.missed,
                overlapped=stats.overlapped,
                lag_p50_ms=(stats.lag_percentile(50) or 0) * 1000,
                lag_p99_ms=(stats.lag_percentile(99) or 0) * 1000,
                lag_max_ms=stats.lag_max * 1000,
                rss_mb=rss,
                peak_rss_mb=hwm,
                rss_per_check_kb=(rss - base_rss) * 1024 / n,
                cpu_per_s=(time.process_time() - c0) / elapsed,
                stored=stats.written,
                error_kinds=_error_kinds(store),
            )
        if saturate:
            # Checks/s at saturation: a closed loop of `saturate` checks, 256 in flight, through
            # the whole path (run, conditions, stored in one batch per 1,000).
            from prodshield.monitor.api import record, run_targets

            sat = shield_targets(
                [f"http://{HOSTS[i % len(HOSTS)]}:{port}/ok?s={i}" for i in range(saturate)],
                60.0,
                5.0,
                None,
            )
            async with Probe(store) as probe:
                w0 = time.monotonic()
                results = await run_targets(sat, probe, concurrency=256)
                for k in range(0, len(results), 1000):
                    await asyncio.to_thread(record, store, results[k : k + 1000])
                took = time.monotonic() - w0
            out["saturation_checks_per_s"] = len(results) / took
            out["saturation_failed"] = sum(1 for r in results if not r.ok)

    run_async(go())
    store.close()
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(out))


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="2 rounds of 6 s, scale run of 35 s")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=100, help="checks per second in part 1")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each part-1 phase")
    ap.add_argument("--scale-targets", type=int, default=10_000)
    ap.add_argument("--scale-interval", type=float, default=30.0)
    ap.add_argument("--scale-seconds", type=float, default=75.0)
    ap.add_argument("--saturate", type=int, default=3000, help="checks in the saturation run")
    ap.add_argument("--skip-cost", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--serve", nargs=3, metavar=("PORT", "CERT", "KEY"), help=argparse.SUPPRESS)
    ap.add_argument("--scale-worker", nargs=5, type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.serve:
        port, cert, key = args.serve
        serve(int(port), None if cert == "-" else cert, None if key == "-" else key)
        return
    if args.scale_worker:
        port, n, interval, seconds, sat = args.scale_worker
        scale_worker(int(port), int(n), interval, seconds, int(sat))
        return
    if args.quick:
        args.rounds, args.seconds, args.scale_seconds = 2, 6.0, 35.0

    folder = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    ca, cert, key = make_certs(folder)
    http_port, https_port = free_port(), free_port()
    me = [sys.executable, __file__]
    # Two server processes per port (SO_REUSEPORT), so the targets keep up with the probers.
    servers = [
        subprocess.Popen([*me, "--serve", str(port), *files])
        for port, files in ((http_port, ["-", "-"]), (https_port, [str(cert), str(key)]))
        for _ in range(2)
    ]
    blackbox = None
    try:
        wait_port(http_port)
        wait_port(https_port)
        urls = {
            "HTTP": f"http://127.0.0.1:{http_port}/ok",
            "HTTPS": f"https://127.0.0.1:{https_port}/ok",
        }
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
        if not args.skip_cost:
            blackbox, bb_port = start_blackbox(folder, str(ca))
            version = subprocess.run(
                ["prometheus-blackbox-exporter", "--version"], capture_output=True, text=True
            )
            first = (version.stdout or version.stderr).splitlines()[0:1]
            print(f"baseline: {first[0] if first else 'blackbox_exporter'}")
            print(
                f"part 1: {args.rate} checks/s, {args.seconds:g} s per phase, {args.rounds} rounds, "
                "new connection per check\n"
            )
            per: dict[tuple[str, str], list[float]] = {}
            for rnd in range(args.rounds):
                for scheme, url in urls.items():
                    order = (
                        ["prodshield", "blackbox"] if rnd % 2 == 0 else ["blackbox", "prodshield"]
                    )
                    for who in order:
                        if who == "prodshield":
                            r = prodshield_cost(
                                url, args.rate, args.seconds, str(ca), folder / f"r{rnd}{scheme}.db"
                            )
                        else:
                            r = blackbox_cost(blackbox.pid, bb_port, url, args.rate, args.seconds)
                        ms = r["cpu"] / max(1, r["checks"]) * 1000
                        per.setdefault((scheme, who), []).append(ms)
                        print(
                            f"  round {rnd + 1} {scheme:5} {who:10}: {r['checks']:5} checks "
                            f"({r['failed']} failed), {r['cpu']:.2f} CPU-s, {ms:.3f} CPU-ms/check"
                            + (
                                f", {r['missed']} missed, {r['overlapped']} overlapped, "
                                f"lag p99 {r['lag_p99_ms']:.0f} ms"
                                if "missed" in r
                                else ""
                            )
                        )
            print("\nCPU-seconds per 1,000 checks (median of rounds):")
            print(f"  {'':6} {'prodshield':>11} {'blackbox':>10} {'ratio':>7}  target")
            for scheme, limit in (("HTTP", 1.0), ("HTTPS", 1.25)):
                ps = statistics.median(per[(scheme, "prodshield")])
                bb = statistics.median(per[(scheme, "blackbox")])
                ratio = ps / bb if bb else float("nan")
                verdict = "ok" if ratio <= limit else "OVER"
                print(f"  {scheme:6} {ps:11.3f} {bb:10.3f} {ratio:7.2f}x  <= {limit}x {verdict}")
        if not args.skip_scale:
            print(
                f"\npart 2: {args.scale_targets} endpoints every {args.scale_interval:g} s for "
                f"{args.scale_seconds:g} s (fresh process), then saturation"
            )
            out = subprocess.run(
                [
                    *me,
                    "--scale-worker",
                    str(http_port),
                    str(args.scale_targets),
                    str(args.scale_interval),
                    str(args.scale_seconds),
                    str(args.saturate),
                ],
                capture_output=True,
                text=True,
                timeout=args.scale_seconds + 120,
            )
            if out.returncode != 0:
                print(out.stderr[-2000:])
                raise SystemExit("scale worker failed")
            s = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"  runs started {s['started']} (slots due {s['expected_starts']}), completed "
                f"{s['completed']}, failed {s['failed']} {s['error_kinds']}, stored {s['stored']}\n"
                f"  scheduling lag p50 {s['lag_p50_ms']:.1f} ms, p99 {s['lag_p99_ms']:.1f} ms "
                f"(target < 100), max {s['lag_max_ms']:.1f} ms (target < 1000)\n"
                f"  missed slots {s['missed']} (target 0), skipped while still running "
                f"{s['overlapped']}\n"
                f"  resident memory {s['rss_mb']:.1f} MB (peak {s['peak_rss_mb']:.1f}; target < 150), "
                f"{s['rss_per_check_kb']:.2f} KB per check\n"
                f"  CPU {s['cpu_per_s'] * 100:.1f}% of one core at "
                f"{s['targets'] / s['interval']:.0f} checks/s\n"
                f"  saturation: {s.get('saturation_checks_per_s', 0):.0f} checks/s "
                f"({args.saturate} checks, 256 in flight, {s.get('saturation_failed', 0)} failed)"
            )
    finally:
        if blackbox is not None:
            blackbox.terminate()
            blackbox.wait(10)
        for p in servers:
            p.terminate()
            p.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
