"""Journey: a notification that cannot be delivered yet (the receiver is down) stays queued for
a retry; `notify flush` and `monitor once` say it is still queued and where to look, and
`notify status` (text and JSON) lists it with its attempts, when it is tried next and its last
error, the receiver's URL token masked (newcomer trial: "1 still queued" and no reason anywhere
but the store; `notify flush --wait 2s` was refused: "Input should be a valid number")."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.cli import prodshield, shell_env
from support.net import refused_port

HOOK_TOKEN = "Zx81kdQpL0vN3mTq7RsW"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = shell_env(drop=("PRODSHIELD_",), HOOK_TOKEN=HOOK_TOKEN, COLUMNS="100", NO_COLOR="1")
    return prodshield(cwd, *args, env=env)


def test_a_queued_notification_says_why_it_is_still_queued(tmp_path: Path) -> None:
    down = refused_port()  # nothing listens: the check fails and the webhook cannot be reached
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "defaults: {failure_threshold: 1}\n"
        "checks:\n"
        f"  - {{name: api, type: tcp, host: 127.0.0.1, port: {down}, alerts: [ops]}}\n"
        "notifiers:\n"
        f'  ops: {{type: webhook, url: "http://127.0.0.1:{down}/hook?token=${{HOOK_TOKEN}}",'
        " backoff: 1h}\n"
    )
    once = _cli(tmp_path, "monitor", "once", "--notify-wait", "5s")
    assert once.returncode == 1, once.stdout + once.stderr
    assert "1 still queued after 1 failed attempt (`prodshield notify status` shows why)" in (
        once.stderr
    ), once.stderr

    bad = _cli(tmp_path, "notify", "flush", "--wait", "soon")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --wait:"), bad.stderr
    flush = _cli(tmp_path, "notify", "flush", "--wait", "2s")  # a duration, as --notify-wait
    assert flush.returncode == 1
    assert "1 still queued (`prodshield notify status` shows why)" in flush.stdout, flush.stdout

    status = _cli(tmp_path, "notify", "status")
    assert status.returncode == 0, status.stderr
    retrying = status.stdout[status.stdout.index("retrying") :]
    assert "incident.opened" in retrying and "cannot connect" in retrying, status.stdout
    row = next(line for line in retrying.splitlines() if "incident.opened" in line)
    assert row.split()[:4] == ["1", "ops", "incident.opened", "1"], row
    assert " in " in row  # when it is tried next

    data = json.loads(_cli(tmp_path, "notify", "status", "-f", "json").stdout)
    [queued] = data["retrying"]
    assert queued["notifier"] == "ops" and queued["attempts"] == 1
    assert queued["next_attempt_at"] > 0 and "cannot connect" in queued["last_error"]
    assert data["dead"] == [] and data["totals"]["pending"] == 1
    assert HOOK_TOKEN not in status.stdout + json.dumps(data) + once.stderr + flush.stdout
