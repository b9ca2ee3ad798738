"""A notifier field the schema judges by its form (a GitHub ``repo`` is ``owner/name``, an ntfy
topic a short word, a key not empty) written as an unset ``${VAR}``: the read-only commands leave
notifiers unread and run; the commands that deliver, and ``config check``, stop on it with the
file:line error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import clean_env

SHIELD = """version: 1
storage: "sqlite:///prodshield.db"
notifiers:
  github: {type: github, repo: "${MY_REPO}", token: "${MY_GH_TOKEN}"}
  ntfy: {type: ntfy, topic: "${MY_TOPIC}"}
  pager: {type: pagerduty, routing_key: "${MY_PD_KEY:-}"}
  slack: {type: slack, webhook_url: "${MY_SLACK_WEBHOOK}"}
  hook: {type: webhook, url: "${MY_HOOK_URL}"}
  mail: {type: email, host: smtp.example.com, from: "${MY_FROM}", to: ["${MY_TO}"]}
"""


def run(tmp_path: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "shield.yaml").write_text(SHIELD)
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *argv, "-c", "shield.yaml"],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.parametrize(
    "argv", [["audit", "."], ["monitor", "status"], ["incident", "list"], ["status", "build"]]
)
def test_a_read_only_command_runs_with_a_notifiers_fields_unset(
    tmp_path: Path, argv: list[str]
) -> None:
    done = run(tmp_path, argv)
    assert done.returncode == 0, done.stderr
    assert "shield.yaml:" not in done.stderr, done.stderr


@pytest.mark.parametrize(
    "argv", [["monitor", "once"], ["notify", "flush"], ["serve"], ["config", "check"]]
)
def test_a_command_that_reads_notifiers_stops_on_each_with_its_line(
    tmp_path: Path, argv: list[str]
) -> None:
    done = run(tmp_path, argv)
    assert done.returncode == 2, done.stderr
    assert "shield.yaml:4:32: notifiers.github.repo: environment variable MY_REPO is not set" in (
        done.stderr
    )
    assert "shield.yaml:5:29: notifiers.ntfy.topic: environment variable MY_TOPIC" in done.stderr
    assert "shield.yaml:6:28: notifiers.pager.routing_key: routing_key is empty" in done.stderr
    assert "Traceback" not in done.stderr
