"""Option and argument errors read like the project's other errors: one ``error:`` line, exit 2.

click's own wording (``Error: Invalid value for '--fail-on': Value error, ...`` after a usage
block) is reworded at the CLI's error boundary.
"""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield


def test_a_bad_choice_is_one_error_line(tmp_path: Path) -> None:
    done = prodshield(tmp_path, "audit", ".", "--fail-on", "bogus", installed=True)
    assert done.returncode == 2
    assert done.stderr == (
        "error: --fail-on: 'bogus' is not one of 'critical', 'high', 'medium', 'low'\n"
    )
    assert done.stdout == ""


def test_an_unknown_option_and_a_missing_argument_point_at_the_help(tmp_path: Path) -> None:
    unknown = prodshield(tmp_path, "monitor", "once", "--bogus", installed=True)
    assert unknown.returncode == 2
    assert unknown.stderr == "error: no such option: --bogus (see 'prodshield monitor once -h')\n"
    missing = prodshield(tmp_path, "incident", "resolve", installed=True)
    assert missing.returncode == 2
    assert missing.stderr == (
        "error: missing argument 'INCIDENT_ID' (see 'prodshield incident resolve -h')\n"
    )


def test_a_group_without_a_command_still_shows_its_help(tmp_path: Path) -> None:
    done = prodshield(tmp_path, "monitor", installed=True)
    assert done.returncode == 2
    assert "Usage: prodshield monitor" in done.stderr + done.stdout
    assert "error:" not in done.stderr


def test_a_bad_scan_period_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text("service started\n")
    done = prodshield(tmp_path, "logs", "scan", "app.log", "--since", "xx", "--no-store")
    assert done.returncode == 2
    assert done.stderr == "error: --since: 'xx' is not a duration (use 30s, 5m, 1h)\n"
