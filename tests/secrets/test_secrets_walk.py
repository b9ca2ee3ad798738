"""The tree walk of `audit secrets` (`prodshield.secrets.files.walk`) on real trees: regular files
only (no symlink, no FIFO), `.git` skipped, .gitignore honoured through a real git repository
(listed as Path objects sort), and a live SQLite database never opened."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from prodshield.secrets.files import ScanConfig, iter_files, scan_paths, walk


def _tree(root: Path) -> None:
    for rel in ("b.py", "a/z.txt", "a/b/c.env", "a-b/x.py", "tests/t.py", ".git/config"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\n")
    (root / "link.py").symlink_to(root / "b.py")
    os.mkfifo(root / "pipe")


def test_walk_lists_regular_files_with_relative_names(tmp_path: Path) -> None:
    _tree(tmp_path)
    listed = list(walk(tmp_path, respect_gitignore=False))
    assert sorted(rel for _, rel in listed) == [
        os.path.join(*p.split("/"))
        for p in ("a-b/x.py", "a/b/c.env", "a/z.txt", "b.py", "tests/t.py")
    ]
    assert all(full == os.path.join(str(tmp_path), rel) for full, rel in listed)
    assert [Path(full) for full, _ in listed] == list(iter_files(tmp_path, respect_gitignore=False))
    # a file given alone is itself
    assert list(walk(tmp_path / "b.py")) == [(str(tmp_path / "b.py"), "b.py")]


def test_walk_through_git_honours_gitignore_and_sorts_as_paths(tmp_path: Path) -> None:
    _tree(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    repo = tmp_path / "repo"
    for rel in ("a-b/x.py", "a/b/c.env", "build/out.txt", "z.py"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("x\n")
    (repo / ".gitignore").write_text("build/\n")
    (repo / "link.py").symlink_to(repo / "z.py")
    rels = [rel for _, rel in walk(repo)]
    # as Path objects sort ("a/b/c.env" before "a-b/x.py"), the ignored folder left out
    assert rels == [".gitignore", "a/b/c.env", "a-b/x.py", "z.py"]


def test_scan_paths_skips_a_live_sqlite_database_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "store.db").write_bytes(b"SQLite format 3\0")
    (tmp_path / "store.db-wal").write_bytes(b"")
    (tmp_path / "state").write_text("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\n")
    (tmp_path / "state-wal").write_text("")  # a live database by its side file, whatever its name
    (tmp_path / "app.env").write_text("GITHUB_TOKEN=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\n")
    config = ScanConfig()
    found = list(scan_paths([tmp_path], respect_gitignore=False, config=config))
    assert [Path(f.path or "").name for f in found] == ["app.env"]
    assert config.counters["binary_skipped"] == 4 and config.counters["files"] == 1


def test_scan_file_refuses_a_fifo_at_once(tmp_path: Path) -> None:
    """A file swapped for a FIFO after the walk (a link's target another user controls) is
    refused on the open descriptor, never waited on."""
    import os
    import threading

    import pytest

    from prodshield.secrets.files import scan_file

    os.mkfifo(tmp_path / "pipe")
    errors: list[BaseException] = []

    def read() -> None:
        try:
            list(scan_file(tmp_path / "pipe"))
        except OSError as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, daemon=True)  # without the fix it never ends
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "scanning a FIFO blocked"
    assert len(errors) == 1 and "not a regular file" in str(errors[0])
    with pytest.raises(OSError):
        list(scan_file(tmp_path / "pipe"))
