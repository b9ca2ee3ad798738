"""The Dockerfile parser: instructions with continuation lines, the ``escape`` directive, JSON and
shell forms."""

from __future__ import annotations

import json
import re

from prodshield.audit.documents.directives import Directive
from prodshield.audit.documents.document import ConfigDoc


def parse_dockerfile(doc: ConfigDoc) -> None:
    buf, start = "", 0
    escape = "\\"
    for n, raw in enumerate(doc.text.splitlines(), 1):
        s = raw.strip()
        if not buf:
            m = re.match(r"#\s*escape\s*=\s*(\S)", s)
            if m and not doc.directives:
                escape = m.group(1)
            if not s or s.startswith("#"):
                continue
            start = n
        elif s.startswith("#"):
            continue
        if s.endswith(escape):
            buf += s[:-1] + " "
            continue
        buf += s
        parts = buf.split(None, 1)
        name = parts[0].upper()
        rest = parts[1] if len(parts) > 1 else ""
        doc.directives.append(Directive(name, _docker_args(rest), start, raw=rest))
        buf = ""
    if buf:
        parts = buf.split(None, 1)
        doc.directives.append(
            Directive(parts[0].upper(), _docker_args(parts[1] if len(parts) > 1 else ""), start)
        )


def _docker_args(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            value = json.loads(rest)
            if isinstance(value, list):
                return [str(v) for v in value]
        except ValueError:
            pass
    import shlex

    try:
        return shlex.split(rest, posix=True)
    except ValueError:
        return rest.split()
