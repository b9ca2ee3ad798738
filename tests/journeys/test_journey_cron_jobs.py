"""Journey: heartbeats as cron monitoring. `serve` runs as a subprocess; a job reports over HTTP
(`/start`, `/<exit code>`, `/fail`) and through `prodshield run-job NAME -- command`: success
turns the check up with its run time stored; a failing command turns it down naming the exit
code, with the last 10 KB of its output kept and a secret in it masked."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.net import free_port, wait_until
from support.serve import get, stop_serve, write_config

TOKEN = "journey-token-cron-0123456789ab"
SECRET = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def _env() -> dict[str, str]:
    return shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"))


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=_env())


def _checks(port: int) -> dict[str, Any]:
    return {c["name"]: c for c in get(port, "/api/v1/checks", token=TOKEN)["checks"]}


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _row(tmp_path: Path, key: str) -> sqlite3.Row:
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.row_factory = sqlite3.Row
        row: sqlite3.Row | None = db.execute(
            "SELECT * FROM heartbeats WHERE check_name = ?", (key,)
        ).fetchone()
    assert row is not None
    return row


def _status(port: int, name: str, want: str) -> dict[str, Any]:
    return wait_until(
        lambda: (c := _checks(port)[name])["status"] == want and c, f"{name} to be {want}"
    )


def test_cron_job_signals_through_serve_and_run_job(tmp_path: Path) -> None:
    port = free_port()
    write_config(
        tmp_path,
        port,
        "defaults: {failure_threshold: 1, success_threshold: 1}\n"
        "checks:\n"
        "  - name: nightly-backup\n"
        "    type: heartbeat\n"
        '    schedule: "0 3 * * *"\n'
        "    tz: Europe/Paris\n"
        "    grace: 1h\n"
        "    interval: 1s\n"
        "  - {name: report, type: heartbeat, period: 1d, interval: 1s}\n",
        token=TOKEN,
    )
    listed = json.loads(_cli(tmp_path, "monitor", "heartbeats", "--format", "json").stdout)
    urls = {h["check"]: h["url"] for h in listed["heartbeats"]}
    nightly = next(h for h in listed["heartbeats"] if h["check"] == "nightly-backup")
    assert nightly["schedule"] == "0 3 * * *" and nightly["tz"] == "Europe/Paris"
    serve = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "serve", "-c", str(tmp_path / "shield.yaml")],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,  # a pipe nobody reads would fill and stall serve
        stderr=(tmp_path / "serve.log").open("w"),
    )
    try:
        wait_until(lambda: _checks(port)["report"]["last_result"], "the first heartbeat run")

        # HTTP signals: start, then success after a measurable run time
        assert _get(urls["report"] + "/start") == 200
        time.sleep(0.5)
        assert _get(urls["report"] + "/0") == 200
        _status(port, "report", "up")
        row = _row(tmp_path, "report")
        assert row["duration_s"] >= 0.5 and row["started_at"] is None and row["exit_code"] == 0
        # an explicit failure turns it down; a bad signal is refused
        assert _get(urls["report"] + "/fail") == 200
        down = _status(port, "report", "down")
        assert "the job failed" in down["last_result"]["error"]
        assert _get(urls["report"] + "/banana") == 404
        assert _get(urls["report"] + "/0") == 200
        _status(port, "report", "up")

        # run-job: a failing command
        script = (
            "import sys\n"
            "print('x' * 30000)\n"
            f"print('token={SECRET}')\n"
            "print('backup failed: disk full')\n"
            "sys.exit(3)\n"
        )
        failed = _cli(tmp_path, "run-job", "nightly-backup", "--", sys.executable, "-c", script)
        assert failed.returncode == 3, failed.stderr
        assert "backup failed: disk full" in failed.stdout  # the output still reaches the user
        down = _status(port, "nightly-backup", "down")
        assert "exit code 3" in down["last_result"]["error"], down
        row = _row(tmp_path, "nightly-backup")
        assert row["exit_code"] == 3 and row["duration_s"] is not None, (
            failed.stderr + (tmp_path / "serve.log").read_text()[-3000:]
        )
        output = row["output"]
        assert output.endswith("backup failed: disk full\n")
        assert len(output.encode()) <= 10 * 1024
        assert "token=" in output and SECRET not in output  # kept, masked

        # run-job: success clears it, and the run time is stored
        ok = _cli(
            tmp_path,
            "run-job",
            "nightly-backup",
            "--",
            sys.executable,
            "-c",
            "import time; time.sleep(0.4)",
        )
        assert ok.returncode == 0, ok.stderr
        _status(port, "nightly-backup", "up")
        row = _row(tmp_path, "nightly-backup")
        assert row["exit_code"] == 0 and row["duration_s"] >= 0.4 and row["output"] is None

        missing = _cli(tmp_path, "run-job", "nope", "--", "true")
        assert missing.returncode == 2 and "no heartbeat check named 'nope'" in missing.stderr
        absent = _cli(tmp_path, "run-job", "nightly-backup", "--", "/nonexistent/job")
        assert absent.returncode == 127 and "cannot run" in absent.stderr
        assert "Traceback" not in absent.stderr
    finally:
        stop_serve(serve, timeout=30)


def test_docs_cron_example_passes_config_check(tmp_path: Path) -> None:
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "monitor.md").read_text()
    m = re.search(r"<!-- config-example: cron -->\n```yaml\n(.*?)```", text, re.S)
    assert m, "docs/monitor.md lost its cron example"
    (tmp_path / "shield.yaml").write_text(m.group(1))
    done = _cli(tmp_path, "config", "check")
    assert done.returncode == 0, done.stderr + done.stdout
    bad = m.group(1).replace("Europe/Paris", "Mars/Olympus")
    (tmp_path / "shield.yaml").write_text(bad)
    done = _cli(tmp_path, "config", "check")
    assert done.returncode == 2 and "shield.yaml:5:" in done.stderr, done.stderr
    assert "unknown time zone 'Mars/Olympus'" in done.stderr
