"""Journey: an env file's secret that ``audit secrets .`` reports in the tree is reported by
``audit secrets --git .`` once it is only in history. A ``ghp_`` token whose checksum is not
GitHub's is no engine finding; the env-file rule (every ``NAME=value`` under a secret-like name
judged by its entropy) reported it in ``now.env``, but ``--git`` said "No secrets found" for the
same line committed in ``cfg.env`` and then removed: the rule never read history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TOKEN = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ0123456"


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=Dev One", "-c", "user.email=dev@example.org",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return proc.stdout.strip()


def _secrets(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", "secrets", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_an_env_file_secret_removed_from_the_tree_is_found_in_history(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "README.md").write_text("# app\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "start")
    (repo / "cfg.env").write_text(f"DEBUG=1\nTOKEN={TOKEN}\n")
    _git(repo, "add", "cfg.env")
    _git(repo, "commit", "-qm", "config")
    added = _git(repo, "rev-parse", "HEAD")

    # in the tree, the env-file rule reports it
    tree = _secrets(repo, ".", "--format", "json")
    assert tree.returncode == 1, (tree.stdout, tree.stderr)
    rules = {(f["rule"], f["path"], f["line"]) for f in json.loads(tree.stdout)["findings"]}
    assert ("environment.dotenv-secret", "cfg.env", 2) in rules, rules

    _git(repo, "rm", "-q", "cfg.env")
    _git(repo, "commit", "-qm", "remove the config")
    assert _secrets(repo, ".", "--format", "json").returncode == 0  # the tree is clean now

    history = _secrets(repo, ".", "--git", "--format", "json")
    assert history.returncode == 1, (history.stdout, history.stderr)
    findings = json.loads(history.stdout)["findings"]
    assert [(f["rule"], f["path"], f["line"], f["commit"]) for f in findings] == [
        ("environment.dotenv-secret", "cfg.env", 2, added)
    ], findings
    assert TOKEN not in history.stdout and TOKEN[4:12] not in history.stdout
    shown = _secrets(repo, ".", "--git")
    assert shown.returncode == 1 and "cfg.env:2" in shown.stdout, shown.stdout
    assert "No secrets found" not in shown.stdout
