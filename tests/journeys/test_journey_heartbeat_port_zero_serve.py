"""Journey: heartbeats with ``serve.port: 0`` (serve picks a free port at each start). The
running serve's Notifications page shows URLs with the port it bound (it showed a literal
``PORT``); ``prodshield run-job`` (another process) pings the port serve recorded in the store
(its pings failed), and with no serve running says in one line what to set while the job still
runs with its own exit code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from support.alerting import TOKEN, Browser
from support.cli import prodshield, shell_env
from support.net import wait_until
from support.serve import get, serving, write_config

CHECKS = "checks:\n  - {name: nightly-backup, type: heartbeat, period: 1d, interval: 1s}\n"


def _run_job(cwd: Path, *command: str) -> Any:
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"))
    return prodshield(cwd, "run-job", "nightly-backup", "--", *command, env=env)


def _status(port: int) -> str:
    checks = get(port, "/api/v1/checks", token=TOKEN)["checks"]
    return str(next(c for c in checks if c["name"] == "nightly-backup")["status"])


def test_port_zero_heartbeats_use_the_port_serve_bound(tmp_path: Path) -> None:
    config = write_config(tmp_path, 0, CHECKS, token=TOKEN)

    # no serve yet: the job runs, keeps its exit code, and one line says what to set
    alone = _run_job(tmp_path, "sh", "-c", "echo working; exit 3")
    assert alone.returncode == 3, alone.stderr
    assert "working" in alone.stdout
    lines = [line for line in alone.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, alone.stderr
    assert "serve.port is 0" in lines[0] and "set serve.public_url" in lines[0], lines[0]
    assert "Traceback" not in alone.stderr

    with serving(config) as srv:
        browser = Browser(srv.port)
        browser.login()
        page = browser.get("/dashboard/notifications")
        urls = re.findall(r"http://[^\s<\"]+/heartbeat/[A-Za-z0-9_-]+", page)
        assert urls, page
        assert all(u.startswith(f"http://127.0.0.1:{srv.port}/heartbeat/") for u in urls), urls
        assert ":PORT" not in page

        ran = _run_job(tmp_path, "sh", "-c", "echo done")
        assert ran.returncode == 0, ran.stderr
        assert "could not send" not in ran.stderr and "cannot ping" not in ran.stderr, ran.stderr
        wait_until(
            lambda: _status(srv.port) == "up", "nightly-backup to be up after run-job's pings"
        )

    # serve stopped cleanly: its record is gone, run-job says so instead of pinging a dead port
    after = _run_job(tmp_path, "true")
    assert after.returncode == 0
    assert "serve.port is 0" in after.stderr and "could not send" not in after.stderr
