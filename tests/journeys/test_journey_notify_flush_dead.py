"""Journey: `notify flush` does not pass over a dead notification.

A check fails, its incident's notification dies (the receiver is down, ``max_attempts: 1``).
A later `notify flush`, as a CI step runs it, said ``0 sent, 0 dead, 0 still queued`` and exited
0 while `notify status` showed the dead row (newcomer trial: the "0 dead" counted only rows dying
in that run). It now tells the dead rows the outbox holds, names the row to requeue with
`notify retry ID`, and exits 1; once the row is retried and delivered, flush exits 0. A dead row
nobody will deliver (its notifier removed) is dropped with `notify discard ID`, never a sent one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.cli import prodshield, shell_env
from support.net import answering, http_server, refused_port


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = shell_env(drop=("PRODSHIELD_",), COLUMNS="200", NO_COLOR="1")
    return prodshield(cwd, *args, env=env)


def _config(check_port: int, hook_port: int) -> str:
    return (
        "storage: sqlite:///store.db\n"
        "defaults: {failure_threshold: 1}\n"
        "checks:\n"
        f"  - {{name: api, type: tcp, host: 127.0.0.1, port: {check_port}, alerts: [ops]}}\n"
        "notifiers:\n"
        f"  ops: {{type: webhook, url: 'http://127.0.0.1:{hook_port}/hook', max_attempts: 1}}\n"
    )


def test_flush_fails_while_a_notification_is_dead(tmp_path: Path) -> None:
    down = refused_port()
    config = tmp_path / "shield.yaml"
    config.write_text(_config(down, down))
    once = _cli(tmp_path, "monitor", "once", "--notify-wait", "3s")
    assert once.returncode == 1, once.stdout + once.stderr
    assert "1 dead" in once.stderr, once.stderr

    flush = _cli(tmp_path, "notify", "flush", "--wait", "1s")
    assert flush.returncode == 1, flush.stdout + flush.stderr
    assert flush.stdout.startswith("0 sent, 1 dead, 0 still queued"), flush.stdout
    assert "requeue it with `prodshield notify retry 1`" in flush.stdout, flush.stdout
    assert "(or drop it with `prodshield notify discard 1`)" in flush.stdout, flush.stdout

    with http_server(answering(200)) as port:
        config.write_text(_config(down, port))
        retried = _cli(tmp_path, "notify", "retry", "1", "--wait", "10s")
        assert retried.returncode == 0, retried.stdout + retried.stderr
        flush = _cli(tmp_path, "notify", "flush", "--wait", "1s")
    assert flush.returncode == 0, flush.stdout + flush.stderr
    assert flush.stdout.strip() == "0 sent, 0 dead, 0 still queued", flush.stdout
    kept = _cli(tmp_path, "notify", "discard", "1")  # delivered: its record stays
    assert kept.returncode == 1 and "notify discard 1: it is sent, not dead" in kept.stdout


def test_a_dead_notification_nobody_will_deliver_is_discarded(tmp_path: Path) -> None:
    down = refused_port()
    config = tmp_path / "shield.yaml"
    config.write_text(_config(down, down))
    assert _cli(tmp_path, "monitor", "once", "--notify-wait", "3s").returncode == 1
    # the notifier is gone from shield.yaml: its dead row can never be delivered
    config.write_text(
        "storage: sqlite:///store.db\n"
        f"checks:\n  - {{name: api, type: tcp, host: 127.0.0.1, port: {down}}}\n"
    )
    assert _cli(tmp_path, "notify", "flush", "--wait", "1s").returncode == 1
    missing = _cli(tmp_path, "notify", "discard", "7")
    assert missing.returncode == 1 and "notify discard 7: no such row" in missing.stdout
    dropped = _cli(tmp_path, "notify", "discard", "1")
    assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    assert dropped.stdout.startswith("discarded incident.opened incident:1:opened for ops")
    flush = _cli(tmp_path, "notify", "flush", "--wait", "1s")
    assert flush.returncode == 0, flush.stdout + flush.stderr
    assert flush.stdout.strip() == "0 sent, 0 dead, 0 still queued", flush.stdout
    again = _cli(tmp_path, "notify", "discard", "1")
    assert again.returncode == 1 and "no such row" in again.stdout


def test_monitor_once_tells_the_dead_rows_as_flush_does_and_keeps_its_exit_code(
    tmp_path: Path,
) -> None:
    """`monitor once` in CI counted only the rows dying in its own run: the run after the one
    whose notification died said nothing about it (no line at all) while `notify flush` said
    "1 dead" and named the row. Both now tell every dead row the outbox holds, in the same words;
    `monitor once`'s exit code stays the checks' (docs/monitor.md): 1 while the check fails, 0
    once it passes, a dead notification or not."""
    down = refused_port()
    config = tmp_path / "shield.yaml"
    config.write_text(_config(down, down))
    first = _cli(tmp_path, "monitor", "once", "--notify-wait", "3s")
    assert first.returncode == 1 and "1 dead" in first.stderr, first.stderr

    again = _cli(tmp_path, "monitor", "once", "--notify-wait", "1s")
    assert again.returncode == 1, again.stdout + again.stderr  # the check still fails
    told = [x for x in again.stderr.splitlines() if x.startswith("notifications: ")]
    flush = _cli(tmp_path, "notify", "flush", "--wait", "1s")
    assert flush.returncode == 1, flush.stdout + flush.stderr
    assert told == [f"notifications: {flush.stdout.strip()}"], again.stderr + flush.stdout
    assert "0 sent, 1 dead, 0 still queued; dead id 1 was never delivered" in told[0], told
    assert "`prodshield notify retry 1`" in told[0] and "notify discard 1" in told[0], told

    with http_server(answering(200)) as port:
        config.write_text(_config(port, port))  # the check passes, the receiver answers
        ok = _cli(tmp_path, "monitor", "once", "--notify-wait", "10s", "--format", "json")
    assert ok.returncode == 0, ok.stdout + ok.stderr  # the checks pass: 0, dead row or not
    notes = json.loads(ok.stdout)["notifications"]
    assert notes["dead"] == 1 and notes["dead_ids"] == [1], notes
    assert " sent, 1 dead, 0 still queued; dead id 1 was never" in ok.stderr, ok.stderr
