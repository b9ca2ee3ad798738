"""From a file to a :class:`ConfigDoc`: its kind by name (or content), then that kind's parser."""

from __future__ import annotations

import re
from pathlib import Path

from prodshield.audit.documents.dockerfile import parse_dockerfile
from prodshield.audit.documents.document import ConfigDoc
from prodshield.audit.documents.kinds import classify, yaml_subkind
from prodshield.audit.documents.lines import parse_lines, parse_pgconf
from prodshield.audit.documents.nginx import parse_nginx
from prodshield.audit.documents.python import parse_python
from prodshield.audit.documents.structured import (
    parse_dotenv,
    parse_ini,
    parse_json,
    parse_toml,
    parse_yaml,
)


def parse_document(path: Path, text: str) -> ConfigDoc | None:
    """Parse ``text`` as the config file ``path`` is; None when it is not a config file."""
    kind = classify(path)
    if kind is None:
        return None
    if kind == "conf":
        if re.search(r"^\s*(server|http|events|location\s+\S+)\s*\{", text, re.M):
            kind = "nginx"
        else:
            return None
    doc = ConfigDoc(path=path, kind=kind, text=text)
    try:
        _PARSERS[kind](doc)
    except Exception as exc:  # any parser failure on bad input: counted and skipped, never raised
        doc.error = f"cannot parse as {kind}: {str(exc).splitlines()[0] if str(exc) else exc}"
        doc.kind = "unparsed"
        return doc
    if doc.kind == "yaml":
        doc.kind = yaml_subkind(path, doc.data)
    return doc


_PARSERS = {
    "python": parse_python,
    "yaml": parse_yaml,
    "json": parse_json,
    "toml": parse_toml,
    "ini": parse_ini,
    "dotenv": parse_dotenv,
    "nginx": parse_nginx,
    "dockerfile": parse_dockerfile,
    "pghba": parse_lines,
    "redis": parse_lines,
    "pgconf": parse_pgconf,
}
