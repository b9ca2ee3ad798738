"""Journey: a heartbeat job run through ``prodshield run-job`` under ``serve`` fails; then
``prodshield monitor status`` (a subprocess) shows its last run under the check's last result
(exit code, run time, the end of its last output line with its escape sequence inert) and
``--format json`` carries the whole ``job`` object, secrets masked, as the API does. The job's
run was on the dashboard and in the API only."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.cli import prodshield, shell_env
from support.net import wait_until
from support.serve import get, serving, write_config

SECRET = "hunter2-Very-Secret-Pass"
SCRIPT = (
    "echo dumping orders; "
    f"echo PGPASSWORD={SECRET} pg_dump orders; "
    "printf 'pg_dump: \\033[31m[bold]disk full[/bold]\\033[0m\\n'; "
    "exit 3"
)
CHECKS = "checks:\n  - {name: nightly-backup, type: heartbeat, period: 1d, interval: 1s}\n"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), COLUMNS="120", NO_COLOR="1")
    return prodshield(cwd, *args, env=env)


def test_monitor_status_shows_a_heartbeat_jobs_last_run(tmp_path: Path) -> None:
    config = write_config(tmp_path, 0, CHECKS)
    with serving(config) as srv:
        ran = _cli(tmp_path, "run-job", "nightly-backup", "--", "sh", "-c", SCRIPT)
        assert ran.returncode == 3, ran.stderr
        assert "could not send" not in ran.stderr, ran.stderr
        wait_until(
            lambda: get(srv.port, "/api/v1/checks/nightly-backup")["environments"][0]["job"],
            "the job's run in the API",
        )
        api_job = get(srv.port, "/api/v1/checks/nightly-backup")["environments"][0]["job"]

    table = _cli(tmp_path, "monitor", "status")
    assert table.returncode == 0, table.stderr
    assert "\x1b" not in table.stdout and SECRET not in table.stdout
    lines = table.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("nightly-backup"))
    shown = " ".join(line.strip() for line in lines[at : at + 3])
    assert "job exit 3, ran " in shown and " ago: " in shown, table.stdout
    # the last line's end, its escapes inert marks and its brackets text, not rich markup
    assert ": pg_dump: ␛[31m[bold]disk full[/bold]␛[0m" in shown, table.stdout

    data = json.loads(_cli(tmp_path, "monitor", "status", "--format", "json").stdout)
    [row] = [c for c in data["checks"] if c["check"] == "nightly-backup"]
    job = row["job"]
    assert job == api_job, (job, api_job)
    assert job["succeeded"] is False and job["exit_code"] == 3, job
    assert job["duration_s"] is not None and job["finished_at"] is not None
    assert "dumping orders" in job["output"] and "disk full" in job["output"]
    assert SECRET not in job["output"] and "PGPASSWORD=" in job["output"]
