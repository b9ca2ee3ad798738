"""Journey: a developer scans a repository for leaked credentials the way CI does on a pull
request, `prodshield audit secrets` run as a subprocess on a real git repository made in a temp
dir: only the pull request's commits, custom rules from shield.yaml, encoded secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import secrets_tokens as tok


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=Dev One", "-c", "user.email=dev@example.org",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return proc.stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", message)
    return _git(repo, "rev-parse", "HEAD")


def _shield(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", "secrets", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_pull_request_range_reports_only_its_added_lines(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    repo.mkdir()
    _git(repo, "init", "-q")
    old_token, pr_token = tok.github_classic(), tok.stripe_live()
    base = _commit(repo, {"app.py": f"TOKEN = '{old_token}'\n"}, "old leak on main")
    _git(repo, "checkout", "-qb", "feature")
    first = _commit(repo, {"README.md": "# shop\n"}, "docs")
    tip = _commit(
        repo, {"README.md": "# shop\n", "pay/config.ini": f"[stripe]\n\nkey = {pr_token}\n"}, "pay"
    )

    proc = _shield(repo, ".", "--range", "main..feature", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["kind"], f["path"], f["line"], f["commit"]) for f in findings] == [
        ("stripe_secret_key", "pay/config.ini", 3, tip)
    ]
    assert pr_token not in proc.stdout and old_token not in proc.stdout

    # --since-commit REV: the commits after REV up to HEAD; the report names commit and file:line.
    proc = _shield(repo, ".", "--since-commit", base, "--format", "markdown")
    assert proc.returncode == 1 and "pay/config.ini:3:" in proc.stdout and tip[:10] in proc.stdout
    assert "app.py" not in proc.stdout
    proc = _shield(repo, ".", "--since-commit", tip, "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []
    # The whole history still holds the old leak.
    proc = _shield(repo, ".", "--git", "--format", "json")
    assert {f["path"] for f in json.loads(proc.stdout)["findings"]} == {"app.py", "pay/config.ini"}
    assert first

    # A revision that is not there, or that looks like an option: one line, exit 2.
    for bad in (["--range", "main..nope"], ["--since-commit", "--output=x"], ["--range", "main"]):
        proc = _shield(repo, ".", *bad)
        assert proc.returncode == 2, (bad, proc.stdout, proc.stderr)
        assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
