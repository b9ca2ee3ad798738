"""Technical debt markers on a real git repository made in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from prodshield.logs.debt import comment_markers, scan_repo


def git(
    repo: Path, *args: str, author: str = "Ada Lovelace <ada@example.com>", date: str | None = None
) -> None:
    name, email = author[:-1].split(" <")
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
    )
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text(
        'def f():\n    s = "TODO: not a comment"\n    return s  # TODO: handle errors\n'
        '"""FIXME in a docstring is a string"""\n# HACK around the ORM\n'
    )
    (repo / "main.go").write_text(
        'package main\n// FIXME: race here\nvar s = "XXX in string"\n/* multi\n   BUG: overflow\n*/\n'
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one", date="2024-01-01T00:00:00+00:00")
    (repo / "run.sh").write_text("echo 'TODO no'\n# XXX: temporary\n")
    (repo / "notes.txt").write_text("TODO in an unsupported file\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "two", author="Grace Hopper <grace@example.com>")
    return repo


def test_comment_lexers() -> None:
    assert comment_markers("a.js", 'let s = "// TODO no"; // TODO yes\n') == [
        (1, "TODO", "TODO yes")
    ]
    assert [m[1] for m in comment_markers("a.c", "/* start\nFIXME inside\n*/ int x; // BUG\n")] == [
        "FIXME",
        "BUG",
    ]
    assert comment_markers("a.py", "x = '# TODO no'\n") == []
    assert comment_markers("a.sql", "select '--TODO' -- FIXME later\n")[0][1] == "FIXME"


def test_scan_repo_attributes_authors(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    report = scan_repo(repo)
    found = {(i.path, i.line, i.marker, i.author) for i in report.items}
    assert found == {
        ("app.py", 3, "TODO", "Ada Lovelace"),
        ("app.py", 5, "HACK", "Ada Lovelace"),
        ("main.go", 2, "FIXME", "Ada Lovelace"),
        ("main.go", 5, "BUG", "Ada Lovelace"),
        ("run.sh", 2, "XXX", "Grace Hopper"),
    }
    ada = next(i for i in report.items if i.path == "app.py" and i.line == 3)
    assert ada.email == "ada@example.com" and ada.age_days and ada.age_days > 300


def test_cli_json_and_delta(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    cfg = tmp_path / "shield.yaml"
    cfg.write_text(f"storage: sqlite:///{tmp_path / 'ps.db'}\n")

    def run() -> dict[str, Any]:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "prodshield",
                "debt",
                str(repo),
                "--format",
                "json",
                "-c",
                str(cfg),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        doc: dict[str, Any] = json.loads(proc.stdout)
        return doc

    first = run()
    assert first["total"] == 5 and first["by_marker"]["TODO"] == 1
    assert first["delta"] is None  # no previous run yet
    (repo / "main.go").write_text("package main\n")
    (repo / "lib.rs").write_text("// TODO: port this\nfn main() {}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "three")
    second = run()
    assert second["total"] == 4
    assert [a["path"] for a in second["delta"]["added"]] == ["lib.rs"]
    assert sorted(r["marker"] for r in second["delta"]["removed"]) == ["BUG", "FIXME"]


def test_cli_not_a_repo(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "debt", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "not a git repository" in proc.stderr
