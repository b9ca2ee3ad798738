"""Journey: `prodshield debt` on a repository with an old committed TODO and one not committed
yet. docs/debt.md says a line not committed yet has no author, shown as `uncommitted`: the item
rows said so, but the by-author count said `unknown` and the JSON said only `"author": null`,
and the "oldest" list put the uncommitted line (the newest of all) among the old ones."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from support.cli import prodshield, wide_env


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    old = {"GIT_AUTHOR_DATE": "2024-01-15T10:00:00Z", "GIT_COMMITTER_DATE": "2024-01-15T10:00:00Z"}

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.email=dana@example.com", "-c", "user.name=Dana", *args],
            cwd=repo, check=True, capture_output=True, env={**os.environ, **old},
        )  # fmt: skip

    git("init", "-q")
    (repo / "a.py").write_text("x = 1\n")
    (repo / "b.py").write_text("# TODO: retry the webhook\ny = 2\n")
    git("add", ".")
    git("commit", "-qm", "first")
    with (repo / "a.py").open("a") as f:
        f.write("# TODO: not committed yet\n")
    return repo


def test_an_uncommitted_marker_is_uncommitted_everywhere(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    markdown = prodshield(repo, "debt", ".", "--format", "markdown", env=wide_env())
    assert markdown.returncode == 0, markdown.stderr
    assert "| uncommitted | 1 |" in markdown.stdout, markdown.stdout
    assert "| Dana | 1 |" in markdown.stdout
    assert "unknown" not in markdown.stdout
    oldest = markdown.stdout[markdown.stdout.index("## Oldest") :]
    rows = [r for r in oldest.splitlines() if r.startswith("| ") and "`" in r]
    assert [("b.py" in r, "a.py" in r) for r in rows] == [(True, False), (False, True)], rows
    assert "| uncommitted |" in rows[1]

    data = json.loads(prodshield(repo, "debt", ".", "--format", "json", env=wide_env()).stdout)
    assert data["by_author"] == {"Dana": 1, "uncommitted": 1}
    items = {i["path"]: i for i in data["items"]}
    assert items["a.py"]["uncommitted"] is True and items["a.py"]["author"] is None
    assert items["b.py"]["uncommitted"] is False and items["b.py"]["author"] == "Dana"
