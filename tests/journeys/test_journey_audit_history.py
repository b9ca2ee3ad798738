"""Journey: `prodshield audit history` after a few audits of a tree that gains, then loses, a
leaked key (CLI as a subprocess, the store the audits wrote); `audit PATH` keeps working,
also for a folder named `history`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.cli import prodshield, shell_env

AWS_KEY = "AKIA" + "QYLPMN5HHHFPZAM2"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=shell_env(drop=("PRODSHIELD_CONFIG",), COLUMNS="80"))


def test_history_shows_runs_and_what_is_new_or_fixed(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text("audit:\n  paths: [app]\n")
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("print('hello')\n")

    empty = _cli(tmp_path, "audit", "history")
    assert empty.returncode == 0 and "no audit runs stored yet" in empty.stdout

    assert _cli(tmp_path, "audit", "--no-process-env").returncode == 0  # run 1: clean
    (app / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    (app / "deploy.env").chmod(0o600)
    assert _cli(tmp_path, "audit", "--no-process-env").returncode == 1  # run 2: a leak
    (app / "deploy.env").unlink()
    (app / "settings.py").write_text("DEBUG = True\n")
    third = _cli(tmp_path, "audit", "--no-process-env", "--fail-on", "critical")  # run 3
    assert third.returncode == 0, third.stdout + third.stderr

    done = _cli(tmp_path, "audit", "history", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    runs = data["runs"]
    assert [r["id"] for r in runs] == [3, 2, 1]
    assert [r["passed"] for r in runs] == [True, False, True]
    assert [r["fail_on"] for r in runs] == ["critical", "high", "high"]
    assert runs[2]["total"] == 0 and runs[2]["new"] is None and runs[2]["fixed"] is None
    assert runs[1]["new"] == runs[1]["total"] > 0 and runs[1]["fixed"] == 0
    assert runs[1]["by_severity"]["critical"] >= 1
    assert runs[0]["new"] == 1 and runs[0]["fixed"] == runs[1]["total"]
    latest = data["latest"]
    assert latest["id"] == 3 and latest["previous"] == 2
    assert [f["rule"] for f in latest["new"]] == ["config.django-debug"]
    assert {f["path"] for f in latest["fixed"]} == {"deploy.env"}
    assert AWS_KEY not in done.stdout

    table = _cli(tmp_path, "audit", "history")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), table.stdout
    header = next(line for line in lines if "when (UTC)" in line)
    for col in ("run", "gate", "result", "crit", "high", "med", "low", "new", "fixed"):
        assert col in header.split(), header
    assert "run 3 against run 2: 1 new" in table.stdout
    assert "config.django-debug" in table.stdout and "deploy.env" in table.stdout

    limited = json.loads(_cli(tmp_path, "audit", "history", "-n", "1", "-f", "json").stdout)
    assert [r["id"] for r in limited["runs"]] == [3] and limited["runs"][0]["previous"] == 2


def test_audit_paths_still_work_next_to_the_subcommand(tmp_path: Path) -> None:
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "settings.py").write_text("DEBUG = True\n")
    done = _cli(
        tmp_path, "audit", "./history", "--no-process-env", "-f", "json", "--fail-on", "critical"
    )
    assert done.returncode == 0, done.stderr
    assert [f["rule"] for f in json.loads(done.stdout)["findings"]] == ["config.django-debug"]
    plain = _cli(folder, "audit", ".", "--no-process-env", "--format", "json")
    assert [f["rule"] for f in json.loads(plain.stdout)["findings"]] == ["config.django-debug"]


def test_history_without_a_config_says_how_to_get_one(tmp_path: Path) -> None:
    done = _cli(tmp_path, "audit", "history")
    assert done.returncode == 2
    assert "no config" in done.stderr and "Traceback" not in done.stderr
