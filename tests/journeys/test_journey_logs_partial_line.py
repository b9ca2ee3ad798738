"""``serve`` following a log whose writer leaves its last line unfinished (no newline yet): the
follower waits without spinning (the serve process's CPU time over two seconds stays small), the
held line is not lag on ``/metrics``, and the line arrives once its newline is written."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.cli import shell_env
from support.net import free_port, wait_until
from support.serve import start_serve, stop_serve

TOKEN = "journey-token-0123456789abcdef"


def _get(port: int, path: str) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
    return json.loads(body) if path.startswith("/api") else body


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _templates(port: int) -> list[str]:
    return [t["template"] for t in _get(port, "/api/v1/templates")["templates"]]


def test_serve_waits_for_an_unfinished_line_without_spinning(tmp_path: Path) -> None:
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    app = logs / "app.log"
    hour = datetime.now(UTC).strftime("%Y-%m-%d %H")
    app.write_text(
        f"{hour}:00:01,000 INFO shop: started worker 1\n"
        f"{hour}:00:02,000 INFO shop: payment gateway answered"  # the writer is not done yet
    )
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: {port}, token: "{TOKEN}"}}\n'
        "logs:\n"
        "  window: 1s\n"
        "  partial_line_after: 1m\n"
        "  sources:\n"
        "    - {name: shop, path: logs/app.log, format: python}\n"
    )
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), NO_COLOR="1")
    serve = start_serve(tmp_path / "shield.yaml", cwd=tmp_path, env=env)
    try:
        wait_until(
            lambda: "started worker <*>" in _templates(port), "the first line's template", 90
        )
        time.sleep(1.0)  # the first window's work is done
        before = _cpu_seconds(serve.pid)
        time.sleep(2.0)
        spent = _cpu_seconds(serve.pid) - before
        # a follower polling without sleeping burns about a core (2 CPU-s here)
        assert spent < 0.3, f"serve used {spent:.2f} CPU-s in 2 s while the line was unfinished"
        assert not any("payment gateway" in t for t in _templates(port))
        metrics = _get(port, "/metrics")
        assert f'prodshield_log_follower_bytes_behind{{path="{app}"}} 0.0' in metrics

        with app.open("a") as fh:
            fh.write(" in 12 ms\n")
        wait_until(
            lambda: any("payment gateway answered in" in t for t in _templates(port)),
            "the completed line",
            30,
        )
    finally:
        _, err = stop_serve(serve, timeout=60)
    assert "Traceback" not in err, err[-2000:]
    assert serve.returncode == 0, err[-2000:]
