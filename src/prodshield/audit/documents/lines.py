"""Parsers of line-oriented files: pg_hba.conf and redis.conf (words per line), postgresql.conf
(``name = value``)."""

from __future__ import annotations

import re

from prodshield.audit.documents.directives import Directive
from prodshield.audit.documents.document import ConfigDoc, Pair


def parse_lines(doc: ConfigDoc) -> None:
    """pg_hba.conf, redis.conf: whitespace-separated words per line, ``#`` comments."""
    for n, raw in enumerate(doc.text.splitlines(), 1):
        s = raw.split("#", 1)[0].strip() if doc.kind == "pghba" else raw.strip()
        if not s or s.startswith("#"):
            continue
        import shlex

        try:
            words = shlex.split(s, comments=True)
        except ValueError:
            words = s.split()
        if words:
            doc.directives.append(Directive(words[0].lower(), words[1:], n, raw=s))


def parse_pgconf(doc: ConfigDoc) -> None:
    for n, raw in enumerate(doc.text.splitlines(), 1):
        s = raw.split("#", 1)[0].strip()
        m = re.match(r"([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*(.*)$", s)
        if not s or not m:
            continue
        value = m.group(2).strip().strip("'\"")
        doc.pairs.append(Pair((0, m.group(1)), value, n))
        doc.lines[(0, m.group(1))] = n
    doc.data = [{p.key: p.value for p in doc.pairs}]
