"""One scheduler per SQLite store: ``serve`` and ``monitor run`` hold a lock beside the file.

On PostgreSQL several instances split the checks through leases (``monitor.cluster``). SQLite has
no such split, so a second long-running process on the same file would run every check again:
twice the results, and two incident engines racing on one check. The lock is an ``flock`` on
``<store>.lock`` (never on the database file: closing another descriptor of it would drop
SQLite's own POSIX locks); the kernel releases it when the holder exits, even on ``kill -9``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prodshield.errors import Conflict


def lock_path(url: str) -> Path | None:
    """The lock file of a SQLite store's URL (as the store normalised it), else None."""
    if not url.startswith("sqlite:///"):
        return None  # PostgreSQL, or an in-memory SQLite store no other process can open
    return Path(f"{url[len('sqlite:///') :]}.lock")


@contextmanager
def sole_runner(url: str, what: str) -> Iterator[None]:
    """Hold the store's runner lock while the block runs; :class:`~prodshield.errors.Conflict`
    (naming the holder) when another process holds it."""
    path = lock_path(url)
    if path is None:
        yield
        return
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise Conflict(
                f"{path.with_suffix('')} is in use by {holder}: on a SQLite store one process "
                "runs the checks (stop it first; several instances share a PostgreSQL store, "
                "docs/monitor.md)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"prodshield {what} (pid {os.getpid()})\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
