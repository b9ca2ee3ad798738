"""Configuration files parsed into something rules can read (never grepped).

:func:`parse_document` recognises a file's kind from its name and content and parses it: Python
with :mod:`ast`, YAML (multi-document, with line numbers), JSON, TOML, INI, ``.env``, nginx,
Dockerfile, ``pg_hba.conf``, ``redis.conf`` and ``postgresql.conf``. Every structured document
also exposes flat ``pairs`` (key path, value, line) and ``env_vars`` (name, value, line) so
generic rules work the same on all of them.

One module per concept: ``document`` (ConfigDoc and its views), ``kinds`` (recognising a file),
``parse`` (dispatch), one module per parser family (``structured``, ``python``, ``nginx``,
``dockerfile``, ``lines``), and the helpers rules share (``directives``, ``pyast``).
"""

from prodshield.audit.documents.directives import Directive, dockerfile_assignments, walk_directives
from prodshield.audit.documents.document import ConfigDoc, KeyPath, Pair, falsy, norm_key, truthy
from prodshield.audit.documents.kinds import (
    COMPOSE_NAMES,
    DOTENV_NAMES,
    classify,
    is_env_file,
    is_env_template,
)
from prodshield.audit.documents.parse import parse_document
from prodshield.audit.documents.pyast import assigned_name, dotted

__all__ = [
    "COMPOSE_NAMES",
    "DOTENV_NAMES",
    "ConfigDoc",
    "Directive",
    "KeyPath",
    "Pair",
    "assigned_name",
    "classify",
    "dockerfile_assignments",
    "dotted",
    "falsy",
    "is_env_file",
    "is_env_template",
    "norm_key",
    "parse_document",
    "truthy",
    "walk_directives",
]
