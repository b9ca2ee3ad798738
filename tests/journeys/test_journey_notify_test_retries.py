"""A user runs ``prodshield notify test ops`` while the receiver is down.

Through the CLI as a subprocess: the test is tried again within ``--wait`` and each failed attempt
is said, but no "retry in Ns" schedule is printed, since the test message is not kept for a later
retry (the command says so, and leaves no row in the outbox).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.cli import prodshield, shell_env
from support.net import refused_port


def test_a_failed_test_message_prints_no_retry_schedule(tmp_path: Path) -> None:
    down = refused_port()
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "notifiers:\n"
        f"  ops: {{type: webhook, url: 'http://127.0.0.1:{down}/hook'}}\n"
    )
    env = shell_env(COLUMNS="200", NO_COLOR="1")
    done = prodshield(tmp_path, "notify", "test", "ops", "--wait", "4s", env=env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "retry in" not in out, out
    lines = done.stdout.splitlines()
    last = next(x for x in lines if x.startswith("not sent to ops:"))
    tries = re.search(r"\((\d+) attempts? within 4s\)$", last)
    assert tries and "cannot connect: connection refused (nothing listens there)" in last, last
    assert "ClientConnectorError" not in out and "Connect call failed" not in out, out
    earlier = [x for x in lines if x.startswith("attempt ")]  # each failed one before the last
    assert len(earlier) == int(tries.group(1)) - 1, out
    assert all(" failed: webhook: cannot connect" in x for x in earlier), out
    assert lines[-1] == "the test message is not kept for retries", out

    status = prodshield(tmp_path, "notify", "status", "-f", "json", env=env)
    data = json.loads(status.stdout)
    assert data["retrying"] == [] and data["dead"] == [], data
