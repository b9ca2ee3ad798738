"""Symbolic links met by the audit's walk: where each one leads and what lies there.

A deployed application reads its ``.env`` through the link, so the audit reads what the link
leads to, once: a link to a file inside the audited tree changes nothing (the file is audited at
its real path), a link leaving the tree is a finding of its own and its target, when it is a
regular file, is audited under the link's name. Nothing else is ever opened: no directory outside
the tree is walked, and FIFOs, sockets, devices and ``/proc`` or ``/sys`` files are not read (a
FIFO would hang the run, ``/proc/self/environ`` would report the audit's own environment).
Dangling links and loops are counted as skipped, never followed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prodshield.text import clip

SHOWN_TARGET = 300
"""Characters of a link's target a report shows (a path may be 4,096 bytes long)."""

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


def skipped_note(link: Link, shown: str) -> str | None:
    """The line ``skipped`` gets for a link that leads nowhere (``shown`` is its report path)."""
    if link.state == "dangling":
        target = clip(link.target, SHOWN_TARGET)
        return f"{shown}: dangling symlink (its target {target} does not exist)"
    if link.state == "loop":
        return f"{shown}: symlink loop, not followed"
    if link.state == "unresolved":
        return f"{shown}: symlink not followed (a folder on its way cannot be searched)"
    return None
