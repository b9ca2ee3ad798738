"""Other local users cannot read the store: the SQLite file and its -wal/-shm are created 0600 (a
local user read a heartbeat token from a 0644 store and faked the heartbeat), and an existing store
that others can read is tightened when prodshield opens it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CONFIG = """
storage: "sqlite:///{db}"
checks:
  - {name: nightly, type: heartbeat, period: 1h}
"""


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every user may enter (pytest's own are 0700, which would hide the problem)."""
    folder = Path(tempfile.mkdtemp(prefix="prodshield-perm-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args, "-c", str(folder / "shield.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask: files 0644 unless asked otherwise
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_and_its_wal_are_private(open_folder: Path) -> None:
    db = open_folder / "state.db"
    (open_folder / "shield.yaml").write_text(CONFIG.replace("{db}", str(db)))
    done = _cli(open_folder, "monitor", "heartbeats")
    assert done.returncode == 0, done.stderr
    token_line = next(line for line in done.stdout.splitlines() if "/heartbeat/" in line)
    token = token_line.rsplit("/heartbeat/", 1)[1].split()[0]
    files = [p for p in open_folder.iterdir() if p.name.startswith("state.db")]
    assert db in files
    for path in files:
        assert _mode(path) == 0o600, (path.name, oct(_mode(path)))
    if os.geteuid() == 0:  # as another local user: the token cannot be read
        spy = subprocess.run(
            [
                "/usr/bin/python3",  # the venv may not be readable by nobody
                "-c",
                f"print(open({str(db)!r}, 'rb').read().count({token.encode()!r}))",
            ],
            capture_output=True,
            text=True,
            user="nobody",
            timeout=30,
        )
        assert spy.returncode != 0 and "Permission denied" in spy.stderr


def test_an_existing_readable_store_is_tightened(open_folder: Path) -> None:
    db = open_folder / "old.db"
    (open_folder / "shield.yaml").write_text(CONFIG.replace("{db}", str(db)))
    assert _cli(open_folder, "monitor", "heartbeats").returncode == 0
    for path in open_folder.glob("old.db*"):
        path.chmod(0o644)
    done = _cli(open_folder, "monitor", "heartbeats")
    assert done.returncode == 0, done.stderr
    for path in open_folder.glob("old.db*"):
        assert _mode(path) == 0o600, (path.name, oct(_mode(path)))
