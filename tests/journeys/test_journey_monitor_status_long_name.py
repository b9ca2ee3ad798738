"""Journey: `prodshield monitor status` on an 80-column terminal with a check name of about 30
characters (a hostile one, markup and all). The name is the only cell allowed to wrap: the
uptimes ("100.00%"), the last result ("refused") and the headers ("result") stay whole."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from support.cli import grid_cell

NAME = "api-<script>alert(1)</script>"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODSHIELD_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env={**env, "COLUMNS": "80", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_long_check_name_wraps_alone(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    port = listener.getsockname()[1]
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "environments: {production: {}}\n"
        "checks:\n"
        f"  - {{name: '{NAME}', type: tcp, host: 127.0.0.1, port: {port},"
        " environments: [production]}\n"
        f"  - {{name: web, type: tcp, host: 127.0.0.1, port: {closed_port},"
        " environments: [production]}\n"
    )
    try:
        assert _cli(tmp_path, "db", "upgrade").returncode == 0
        _cli(tmp_path, "monitor", "once")
    finally:
        listener.close()
    status = _cli(tmp_path, "monitor", "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), status.stdout
    words = status.stdout.split()
    for whole in ("100.00%", "0.00%", "refused", "result", "production", "state", "check"):
        assert whole in words, status.stdout
    # the name wraps within its own column: its pieces, read down the column, give it back
    assert grid_cell(status.stdout, "api-", "env") == NAME, status.stdout
