"""A check's non-text field written as an unset ``${VAR}`` (a ``tcp`` port, a ``type``, an
``interval``, ``enabled``): the value as written is no number, type or boolean, yet the commands
that run no check never read it. They run: a field with a default takes it, a check left without
its type or a required value is left out with a file:line warning. The commands that run the
checks, and ``config check``, stop with one file:line error per variable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import clean_env

SHIELD = """version: 1
storage: "sqlite:///prodshield.db"
checks:
  - {name: db, type: tcp, host: db.internal, port: "${MY_DB_PORT}"}
  - {name: api, type: "${MY_API_TYPE}", url: "https://api.example.com/health"}
  - {name: web, type: http, url: "https://example.com", interval: "${MY_WEB_EVERY}"}
  - {name: cdn, type: tls, host: cdn.example.com, port: "${MY_CDN_PORT}", enabled: "${MY_ON}"}
notifiers:
  mail: {type: email, host: smtp.example.com, port: "${MY_SMTP_PORT}", from: a@example.com, to: [b@example.com]}
logs:
  sources:
    - {name: app, path: app.log}
"""

UNSET = [
    "shield.yaml:4:52: checks[0].port: environment variable MY_DB_PORT is not set",
    "shield.yaml:5:23: checks[1].type: environment variable MY_API_TYPE is not set",
    "shield.yaml:6:67: checks[2].interval: environment variable MY_WEB_EVERY is not set",
    "shield.yaml:7:57: checks[3].port: environment variable MY_CDN_PORT is not set",
    "shield.yaml:7:84: checks[3].enabled: environment variable MY_ON is not set",
    "shield.yaml:9:53: notifiers.mail.port: environment variable MY_SMTP_PORT is not set",
]


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


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "."],
        ["incident", "list"],
        ["logs", "scan"],
        ["monitor", "report"],
        ["status", "build", "--out", "site"],
    ],
)
def test_a_command_that_runs_no_check_runs(tmp_path: Path, argv: list[str]) -> None:
    done = run(tmp_path, argv)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "error" not in done.stderr.lower(), done.stderr


def test_monitor_status_shows_the_checks_it_can_and_says_which_it_leaves_out(
    tmp_path: Path,
) -> None:
    done = run(tmp_path, ["monitor", "status", "--format", "json"])
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    rows = shown["checks"] if isinstance(shown, dict) else shown
    assert sorted(r["check"] for r in rows) == ["cdn", "web"]
    assert done.stderr.splitlines() == [
        "warning: shield.yaml:4:52: checks[0].port: environment variable MY_DB_PORT is not set, "
        "so this command leaves checks[0] out",
        "warning: shield.yaml:5:23: checks[1].type: environment variable MY_API_TYPE is not set, "
        "so this command leaves checks[1] out",
    ]


@pytest.mark.parametrize("argv", [["monitor", "once"], ["serve"], ["config", "check"]])
def test_a_command_that_runs_the_checks_stops_with_one_line_per_variable(
    tmp_path: Path, argv: list[str]
) -> None:
    done = run(tmp_path, argv)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("shield.yaml:")]
    assert [line.split(" (used here")[0] for line in lines] == UNSET, done.stderr
    assert "Traceback" not in done.stderr
