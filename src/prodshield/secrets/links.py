"""Symbolic links met by a walk of files to scan: where each one leads and what lies there.

The audit (``prodshield.audit.links``, docs/audit.md "Symlinks") and ``audit secrets``' own tree
walk (``prodshield.secrets.files``) follow one rule: a link to a file inside the tree changes
nothing (the file is read at its real path, once), a link leaving the tree has its target read
under the link's name when that target is a regular file, and nothing else is ever opened:
FIFOs, sockets, devices and ``/proc`` or ``/sys`` files are not read. Dangling links and loops
are never followed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PSEUDO_ROOTS = (Path("/proc"), Path("/sys"))
"""Kernel file systems: their "regular files" are live views of processes and devices."""

KINDS = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "directory",
    stat.S_IFIFO: "named pipe (FIFO)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


@dataclass(frozen=True)
class Link:
    """One symlink in the audited tree."""

    path: Path
    """The link, as the walk named it."""
    target: str
    """What the link says (``readlink``); outside text, escaped wherever it is shown."""
    real: Path | None
    """Where it leads, every link followed; None when it leads nowhere (dangling, a loop)."""
    state: str
    """``inside`` (an audited root holds ``real``), ``outside``, ``dangling``, ``loop`` or
    ``unresolved`` (a folder on the way cannot be searched)."""
    kind: str = ""
    """What ``real`` is: ``file``, ``directory``, ``named pipe (FIFO)``, ``socket``, a device,
    ``kernel file`` (under /proc or /sys), or ``unknown`` when it cannot be stat'ed."""

    @property
    def readable_file(self) -> bool:
        """A regular file the audit may open (kernel files and special files are never read)."""
        return self.kind == "file"


def examine(path: Path, roots: Sequence[Path]) -> Link:
    """Follow the link at ``path``; ``roots`` are the audited roots, resolved."""
    try:
        target = os.readlink(path)
    except OSError:
        target = ""
    try:
        real = path.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        return Link(path, target, None, "dangling")
    except RuntimeError:  # a loop, before Python 3.13
        return Link(path, target, None, "loop")
    except OSError as exc:
        return Link(path, target, None, "loop" if exc.errno == errno.ELOOP else "unresolved")
    inside = any(real == root or root in real.parents for root in roots)
    return Link(path, target, real, "inside" if inside else "outside", _kind(real))


def _kind(real: Path) -> str:
    if any(real == p or p in real.parents for p in PSEUDO_ROOTS):
        return "kernel file"
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return "unknown"
    return KINDS.get(stat.S_IFMT(mode), "unknown")
