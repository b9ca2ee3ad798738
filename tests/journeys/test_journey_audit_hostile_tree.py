"""Journey: the audit gate on a deploy tree a user does not fully control (CLI as a subprocess):
symlink loops, a file whose name carries terminal escapes, and a log larger than the audit holds
in memory with a key at its end. Each run gives its whole report and the right verdict."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from support.cli import prodshield, shell_env

AWS_KEY = "AKIA" + "Q3EGRLN4X7PZ2WQM"  # split so scanners of this repository stay quiet
PASSWORD = "Zq8vLm2Rt9" + "Xw4Kp7Nc3B"


def _repo(root: Path) -> Path:
    repo = root / "shop"
    repo.mkdir()
    (repo / "main.py").write_text('print("hello")\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _audit(repo: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    return prodshield(repo, "audit", ".", *args, env=shell_env(COLUMNS=str(columns), NO_COLOR="1"))


def test_symlink_loops_are_passed_over_and_the_rest_audited(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    os.symlink("b", repo / "a")
    os.symlink("a", repo / "b")
    os.symlink("self", repo / "self")
    (repo / "loop").mkdir()
    os.symlink("..", repo / "loop" / "up")
    (repo / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n')

    done = _audit(repo, "--format", "json")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [
        ("secrets.leak", "settings.py")
    ], report["findings"]
