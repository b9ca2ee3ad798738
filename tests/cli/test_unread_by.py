"""`READ_ONLY_COMMANDS` is the one list of the read-only commands: the commands load shield.yaml
by it, and `unread_by` (what `init --github-actions` judges a workflow step by) reads it. Every
command it names runs with a notifier's and a check's ``${VAR}`` unset, and the commands it does
not name stop on it (exit 2, the file:line error)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from prodshield.cli.config_checks import READ_ONLY, READ_ONLY_COMMANDS, unread_by
from prodshield.config.loader import SERVE_ONLY
from support.cli import clean_env

SHIELD = """version: 1
storage: "sqlite:///prodshield.db"
serve: {token: "${UNSET_SERVE_TOKEN}"}
checks:
  - {name: api, type: http, url: "${UNSET_API_URL}/health"}
notifiers:
  hook: {type: webhook, url: "${UNSET_HOOK_URL}"}
  github: {type: github, repo: "acme/shop", token: "${UNSET_GH_TOKEN}"}
logs:
  sources:
    - {name: app, path: app.log}
"""

ARGS = {
    "audit": ["audit", "."],
    "status build": ["status", "build", "--out", "site"],
    "incident show": ["incident", "show", "1"],
    "logs parse": ["logs", "parse", "app.log"],
}


def run(tmp_path: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "shield.yaml").write_text(SHIELD)
    (tmp_path / "app.log").write_text("2026-12-01T00:00:00Z INFO started\n")
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *argv, "-c", "shield.yaml"],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=90,
    )


# `chaos proxy` serves until stopped and `chaos toxic` talks to it; neither stops on shield.yaml
# (a file that does not load leaves them Toxiproxy's address)
RUN = [c for c in READ_ONLY_COMMANDS if not c.startswith("chaos ")]


@pytest.mark.parametrize("command", RUN)
def test_a_read_only_command_runs_with_its_unread_parts_unset(tmp_path: Path, command: str) -> None:
    argv = ARGS.get(command, command.split())
    assert unread_by(argv) == READ_ONLY
    done = run(tmp_path, argv)
    assert "is not set" not in done.stderr, done.stderr
    assert done.returncode != 2 or "no incident 1" in done.stderr, done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["monitor", "once"],
        ["logs", "digest", "--post", "hook"],
        ["deploy", "mark", "--version", "1.2.3"],
        ["db", "merge", "other.db"],
    ],
)
def test_a_command_said_to_read_everything_stops_on_an_unset_variable(
    tmp_path: Path, argv: list[str]
) -> None:
    assert unread_by(argv) == SERVE_ONLY
    done = run(tmp_path, argv)
    assert done.returncode == 2, done.stderr
    assert "environment variable UNSET_" in done.stderr, done.stderr
    assert "UNSET_SERVE_TOKEN" not in done.stderr, done.stderr  # only serve reads it
