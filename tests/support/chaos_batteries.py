"""Real processes for the battery tests: the fault proxy, the example's dependency and service."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from prodshield.chaos.proxy.client import ProxyClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "bank_service"


def _start(
    cmd: list[str], log: Path, pattern: str, limit: float = 15.0
) -> tuple[subprocess.Popen[bytes], str]:
    out = log.open("wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        m = re.search(pattern, log.read_text(errors="replace"))
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait(5)
    raise RuntimeError(f"{cmd[:3]} did not start: {log.read_text(errors='replace')[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def proxy_server(tmp: Path) -> Iterator[str]:
    """``prodshield chaos proxy`` on an ephemeral port; yields its API URL."""
    prodshield = Path(sys.executable).parent / "prodshield"
    proc, url = _start(
        [str(prodshield), "chaos", "proxy", "--port", "0"],
        tmp / "proxy.log",
        r"API on (http://\S+)",
    )
    try:
        yield url
    finally:
        _stop(proc)


@contextlib.contextmanager
def bank_example(tmp: Path, api: str, pg_dsn: str, broken: bool, **flags: str) -> Iterator[str]:
    """The dependency, proxies ``dep`` and ``pg`` in front of it and PostgreSQL, and the service."""
    dep, dep_addr = _start(
        [sys.executable, str(EXAMPLE / "dependency.py"), "--port", "0"],
        tmp / "dependency.log",
        r"listening on (\S+)",
    )
    client = ProxyClient(api)
    try:
        dep_proxy = client.create_proxy("dep", dep_addr, "127.0.0.1:0")
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params = conninfo_to_dict(pg_dsn)
        pg_proxy = client.create_proxy(
            "pg", f"{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}", "127.0.0.1:0"
        )
        host, _, port = pg_proxy.listen.rpartition(":")
        service_dsn = make_conninfo("", **{**params, "host": host, "port": port})
        cmd = [
            sys.executable,
            str(EXAMPLE / "app.py"),
            "--port",
            "0",
            "--dsn",
            service_dsn,
            "--dependency",
            f"http://{dep_proxy.listen}",
        ]
        for key, value in flags.items():
            cmd += [f"--{key.replace('_', '-')}", value]
        if broken:
            cmd.append("--broken")
        app, addr = _start(cmd, tmp / "service.log", r"listening on (\S+)")
        try:
            yield f"http://{addr}"
        finally:
            _stop(app)
    finally:
        _stop(dep)
        for name in ("dep", "pg"):  # the proxy server may serve the next test
            with contextlib.suppress(Exception):
                client.delete_proxy(name)
