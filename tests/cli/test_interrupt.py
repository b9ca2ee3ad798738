"""Ctrl-C during a command prints one ``interrupted`` line on stderr and exits 130, no traceback.

Each test interrupts the command while it is provably inside its work: ``monitor once`` once its
check has connected to a server that never answers, ``logs scan`` once it has opened a FIFO that
is never closed and it is blocked reading (the kernel says so in /proc/PID/wchan).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from support.cli import shell_env


def _start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env=shell_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _interrupt(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_ctrl_c_during_monitor_once(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(60)
        port = server.getsockname()[1]
        (tmp_path / "shield.yaml").write_text(
            "checks:\n"
            "  - name: web\n"
            "    type: http\n"
            f"    url: http://127.0.0.1:{port}/\n"
            "    timeout: 60s\n"
        )
        proc = _start(tmp_path, "monitor", "once")
        try:
            conn, _ = server.accept()  # the check is running: it waits for an answer
        except BaseException:
            proc.kill()
            raise
        with conn:
            code, _out, err = _interrupt(proc)
    assert code == 130
    assert err == "interrupted\n"


def test_ctrl_c_during_logs_scan(tmp_path: Path) -> None:
    fifo = tmp_path / "app.log"
    os.mkfifo(fifo)
    proc = _start(tmp_path, "logs", "scan", str(fifo))
    with open(fifo, "w") as writer:  # returns once the scan has opened the FIFO to read it
        writer.write('127.0.0.1 - - [06/Dec/2026:05:00:00 +0000] "GET / HTTP/1.1" 200 5\n')
        writer.flush()
        deadline = time.monotonic() + 60
        wchan = Path(f"/proc/{proc.pid}/wchan")
        while "pipe_read" not in wchan.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, "the scan never waited on the FIFO"
            time.sleep(0.05)
        code, out, err = _interrupt(proc)
    assert code == 130
    assert err == "interrupted\n"
    assert "Traceback" not in out
