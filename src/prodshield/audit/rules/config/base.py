"""What config rules share: the subject is a parsed :class:`ConfigDoc`."""

from __future__ import annotations

from collections.abc import Iterable

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc
from prodshield.audit.finding import Severity
from prodshield.audit.rules.base import ExampleFromSample, Hit, Sample

DATA_KINDS = frozenset({"yaml", "json", "toml", "ini", "dotenv", "compose", "k8s", "workflow"})
ALL_KINDS = DATA_KINDS | {"python", "dockerfile", "pgconf"}

SECRET_NAME_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "privatekey",
    "private_key",
    "accesskey",
    "access_key",
    "credential",
    "auth",
)


def secret_like(name: str) -> bool:
    n = name.lower().replace("-", "_")
    if n.endswith(("_file", "_path", "_url", "_id", "_name", "_user", "_username")):
        return False
    return any(w in n or w in n.replace("_", "") for w in SECRET_NAME_WORDS)


def is_reference(value: str) -> bool:
    """``${VAR}``, ``$VAR``, ``{{ secrets.X }}``, ``<placeholder>`` and empty values hold no secret."""
    v = value.strip()
    return (not v) or v.startswith(("$", "{{", "<")) or v.lower() in ("none", "null", "~")


class ConfigRule(ExampleFromSample):
    """Base for config rules: set the class attributes and write ``check``."""

    family = "config"
    type: str
    severity: Severity
    title: str
    fix: str
    kinds: frozenset[str]
    vulnerable: Sample
    fixed: Sample

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        raise NotImplementedError
