"""Journey: the CLI's tables read a plain string as rich markup, so a name or text holding `[/]`
crashed the command (`internal error: MarkupError: closing tag '[/]' ... has nothing to close`,
exit 3: `monitor once`, `monitor status`, `notify status`) and `[red]boom[/red]` printed `boom`
in red. Now every cell and line prints as typed, and the exit codes are the documented ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.cli import prodshield, wide_env
from support.net import answering, http_server

HOSTILE = "[red]boom[/red]"


def _config(tmp_path: Path, closed: int) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "defaults: {failure_threshold: 1}\n"
        "notifiers:\n"
        f'  "hook[/]": {{type: webhook, url: "http://127.0.0.1:{closed}/"}}\n'
        "checks:\n"
        f'  - {{name: "api[/]", type: http, url: "http://127.0.0.1:{closed}/x[/]y"}}\n'
        f'  - {{name: "{HOSTILE}", type: http, url: "http://127.0.0.1:{closed}/"}}\n'
    )


def _ok(out: subprocess.CompletedProcess[str], code: int) -> str:
    text = out.stdout + out.stderr
    assert out.returncode == code, text
    assert "MarkupError" not in text and "internal error" not in text, text
    return text


def test_names_and_texts_with_markup_print_as_typed(tmp_path: Path) -> None:
    with http_server(answering(200)) as closed:
        pass  # nothing listens there any more: both checks fail, the webhook too
    _config(tmp_path, closed)
    env = wide_env()

    once = _ok(prodshield(tmp_path, "monitor", "once", "--notify-wait", "1s", env=env), 1)
    assert "api[/]" in once and HOSTILE in once
    assert "incident #1 opened: api[/] down (critical)" in once
    assert f"incident #2 opened: {HOSTILE} down (critical)" in once

    status = _ok(prodshield(tmp_path, "monitor", "status", env=env), 0)
    assert "api[/]" in status and HOSTILE in status

    ack = prodshield(tmp_path, "incident", "ack", "1", "--by", "[/]ops", "--note", HOSTILE, env=env)
    assert "acknowledged by [/]ops" in _ok(ack, 0)
    listed = _ok(prodshield(tmp_path, "incident", "list", env=env), 0)
    assert "open, acked by [/]ops" in listed and HOSTILE in listed
    shown = _ok(prodshield(tmp_path, "incident", "show", "1", env=env), 0)
    assert f"[/]ops: {HOSTILE}" in shown

    notify = _ok(prodshield(tmp_path, "notify", "status", env=env), 0)
    assert "hook[/]" in notify

    run = prodshield(tmp_path, "monitor", "run", "--duration", "2s", "-v", env=env)
    ran = _ok(run, 0)
    assert "\\[" not in ran, ran  # no markup escapes left in what it prints
