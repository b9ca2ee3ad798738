"""Journey: `logs digest --debt REPO` every day, with a shield.yaml store. docs/debt.md promises
a "Technical debt" section with the total, the delta since the previous run and the oldest
markers; it printed only "7 markers" (JSON `"delta": null`, no items) in Markdown, HTML and JSON,
even when `prodshield debt` had runs in the store."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from support.cli import prodshield, wide_env

ACCESS = "".join(
    f'203.0.113.5 - - [04/Dec/2026:06:{m:02d}:30 +0000] "GET /api/orders HTTP/1.1" 200 5 "-" "shop"\n'
    for m in range(10)
)


def _git(repo: Path, *args: str, date: str | None = None) -> None:
    env = dict(os.environ)
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run(
        ["git", "-c", "user.email=dana@example.com", "-c", "user.name=Dana", *args],
        cwd=repo, check=True, capture_output=True, env=env,
    )  # fmt: skip


def test_the_digest_gives_the_debt_delta_and_the_oldest_markers(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "pay.py").write_text("# TODO: verify the webhook signature\nx = 1\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "old", date="2024-01-15T10:00:00Z")
    (tmp_path / "shield.yaml").write_text(f"storage: sqlite:///{tmp_path / 'ps.db'}\n")
    (tmp_path / "access.log").write_text(ACCESS)

    def digest(*args: str) -> subprocess.CompletedProcess[str]:
        done = prodshield(
            tmp_path, "logs", "digest", "access.log", "--debt", str(repo), *args, env=wide_env()
        )
        assert done.returncode == 0, done.stderr
        return done

    first = digest("--format", "markdown").stdout
    assert "1 marker; no earlier run in the store to compare with" in first, first

    (repo / "ship.py").write_text("# FIXME: remove the feature flag\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "new")
    with (repo / "pay.py").open("a") as f:
        f.write("# XXX: not committed yet\n")
    second = digest("--format", "markdown").stdout
    section = second[second.index("## Technical debt") :]
    assert "3 markers; +2 new, -0 resolved since the previous run" in section, section
    rows = [r for r in section.splitlines() if r.startswith("| ") and "`" in r]
    assert rows[0].startswith("| 10") and "`pay.py:1`" in rows[0] and "`Dana`" in rows[0], rows
    assert "`ship.py:1`" in rows[1] and rows[1].startswith("| 0 |"), rows
    assert "`pay.py:3`" in rows[2] and "`uncommitted`" in rows[2], rows

    data = json.loads(digest("--format", "json").stdout)["debt"]
    assert data["total"] == 3 and data["delta"] == {"added": [], "removed": []}  # no change since
    assert [(o["path"], o["line"], o["author"]) for o in data["oldest"]] == [
        ("pay.py", 1, "Dana"), ("ship.py", 1, "Dana"), ("pay.py", 3, "uncommitted"),
    ]  # fmt: skip
    page = digest("--format", "html").stdout
    assert "3 markers; +0 new, -0 resolved since the previous run." in page
    assert "<td>ship.py:1</td><td>Dana</td><td>FIXME: remove the feature flag</td>" in page
