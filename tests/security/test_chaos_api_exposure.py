"""The chaos proxy API has no authentication (as Toxiproxy's has none): bound to a non-loopback
address, `prodshield chaos proxy` says so in a warning line when it starts."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


def _start(tmp_path: Path, host: str) -> str:
    """Start `chaos proxy` on ``host`` (port 0: the system picks one), return what it printed
    once it is up, stop it."""
    log = tmp_path / f"proxy-{host}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prodshield",
                "chaos",
                "proxy",
                "--host",
                host,
                "--port",
                "0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 30
        while "API on" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return log.read_text()


def test_a_non_loopback_chaos_api_is_announced(tmp_path: Path) -> None:
    exposed = _start(tmp_path, "0.0.0.0")
    assert "API on http://0.0.0.0:" in exposed
    warning = [line for line in exposed.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1, exposed
    assert "reachable from the network" in warning[0] and "no authentication" in warning[0]
    quiet = _start(tmp_path, "127.0.0.1")
    assert "API on http://127.0.0.1:" in quiet
    assert "warning" not in quiet
