"""The audit's walk and reads on what symlinks lead to: nothing that is not a regular file is
ever opened in a way that can block, and every link is classified without an exception."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from prodshield.audit.context import AuditContext
from prodshield.audit.links import examine


def test_reading_a_fifo_returns_at_once(tmp_path: Path) -> None:
    """A file the walk saw as regular may be a FIFO by the time it is read (a link's target
    outside the tree, replaced by another user): the read must not wait for a writer."""
    os.mkfifo(tmp_path / "pipe")
    ctx = AuditContext(paths=[tmp_path])
    got: list[str | None] = []
    reader = threading.Thread(target=lambda: got.append(ctx.read_text(tmp_path / "pipe")))
    reader.daemon = True  # without the fix it never ends
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert got == [None]


def test_every_kind_of_link_is_classified(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.env").write_text("X=1\n")
    os.symlink("a.env", root / "inside")
    os.symlink(tmp_path, root / "up")
    os.symlink("missing", root / "dangling")
    os.symlink("loop", root / "loop")
    os.symlink("/proc/self/environ", root / "environ")
    states = {
        name: (link.state, link.kind)
        for name in ("inside", "up", "dangling", "loop", "environ")
        for link in [examine(root / name, [root.resolve()])]
    }
    assert states == {
        "inside": ("inside", "file"),
        "up": ("outside", "directory"),
        "dangling": ("dangling", ""),
        "loop": ("loop", ""),
        "environ": ("outside", "kernel file"),
    }
