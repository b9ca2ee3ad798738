"""Symbolic links met by the audit's walk: where each one leads and what lies there.

A deployed application reads its ``.env`` through the link, so the audit reads what the link
leads to, once: a link to a file inside the audited tree changes nothing (the file is audited at
its real path), a link leaving the tree is a finding of its own and its target, when it is a
regular file, is audited under the link's name. Nothing else is ever opened: no directory outside
the tree is walked, and FIFOs, sockets, devices and ``/proc`` or ``/sys`` files are not read (a
FIFO would hang the run, ``/proc/self/environ`` would report the audit's own environment).
Dangling links and loops are counted as skipped, never followed. ``Link`` and ``examine`` live in
``prodshield.secrets.links``: ``audit secrets``' own walk follows the same rule.
"""

from __future__ import annotations

from prodshield.secrets.links import KINDS, PSEUDO_ROOTS, Link, examine
from prodshield.text import clip

__all__ = ["KINDS", "PSEUDO_ROOTS", "SHOWN_TARGET", "Link", "examine", "skipped_note"]

SHOWN_TARGET = 300
"""Characters of a link's target a report shows (a path may be 4,096 bytes long)."""


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
