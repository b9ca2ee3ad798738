"""A symlink in the audited tree that leads out of it (the subject is a
:class:`prodshield.audit.links.Link`).

What such a link serves is decided by whoever controls its target, not by the tree the gate
approved. Its target, when it is a regular file, is audited under the link's name by every file
family (``AuditContext.files``); this rule says where the link leads and what was not read.
"""

from __future__ import annotations

from collections.abc import Iterable

from prodshield.audit.context import AuditContext
from prodshield.audit.finding import Severity
from prodshield.audit.links import SHOWN_TARGET, Link
from prodshield.audit.rules.base import ExampleFromSample, Hit, Sample
from prodshield.text import clip


class SymlinkOutsideTree(ExampleFromSample):
    family = "permissions"
    type = "permissions.symlink-outside-tree"
    severity = Severity.LOW
    title = "Symlink leads out of the audited tree"
    fix = (
        "Ship the file in the tree (and audit it there), or keep the link on purpose (a secret "
        "the host mounts) and accept it in a baseline."
    )
    vulnerable = Sample(".env", "DEBUG=0\n", mode=0o600, link="../outside/shop.env")
    fixed = Sample(".env", "DEBUG=0\n", mode=0o600, link="config/shop.env")

    def check(self, subject: Link, ctx: AuditContext) -> Iterable[Hit]:
        if subject.state != "outside" or subject.real is None:
            return
        where = clip(str(subject.real), SHOWN_TARGET)
        if subject.readable_file:
            said = "its content is audited under this path"
        elif subject.kind == "directory":
            said = "a directory: its files are not audited"
        else:
            said = f"a {subject.kind}: not read"
        yield Hit(f"leads to {where}, outside the audited tree ({said})", key=self.type)
