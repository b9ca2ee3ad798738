"""The inline allow comment: one parser for the full audit and the secret scanner.

``prodshield:allow`` or ``prodshield: allow`` (any spacing around the colon, any case) silences
every rule on its line, or on the next line when it stands alone on a comment line; followed by rule names (``# prodshield: allow config.django-debug, tls``),
only those: an audit rule id (``family.name``), a family, or a secret rule id
(``aws-access-key-id``). Other words after it are a reason, not rule names
(``# prodshield:allow (a rule sample)`` silences every rule). ``pragma: allowlist secret`` and
``gitleaks:allow`` silence the secret findings. ``--strict`` honours none of them (the callers).
"""

from __future__ import annotations

import re

ALLOW = re.compile(r"prodshield\s*:\s*allow\b\s*([\w.\-, ]*)", re.I)
PRAGMA = re.compile(r"pragma:\s*allowlist[ -]secret|gitleaks:allow", re.I)
FAMILIES = frozenset({"permissions", "config", "secrets", "environment", "tls"})
"""The audit's families (the secrets layer imports no capability)."""
SECRET_FINDINGS = frozenset(
    {
        "secrets",
        "secrets.leak",
        "environment.dotenv-secret",
        "permissions.secret-content-readable",
    }
)
"""What ``pragma: allowlist secret`` and ``gitleaks:allow`` silence: the findings of a secret."""


def allowed_rules(line: str) -> frozenset[str] | None:
    """The rules an allow comment on ``line`` silences: None when it has none, an empty set
    when it silences every rule."""
    m = ALLOW.search(line) if "allow" in line.lower() else None
    if m:
        return frozenset(w for w in re.split(r"[,\s]+", m.group(1)) if _rule_name(w))
    if PRAGMA.search(line):
        return SECRET_FINDINGS
    return None


COMMENT_LEADERS = ("#", "//", "/*", "*", "--", ";", "<!--", "%", "'", "rem ")
"""How a line that is only a comment starts."""


def allowed_above(line: str) -> frozenset[str] | None:
    """:func:`allowed_rules` of the line above a finding: only a line that is a comment counts
    (``# prodshield: allow`` alone on its line), never a comment after code, which is that
    line's own."""
    if not line.lstrip().lower().startswith(COMMENT_LEADERS):
        return None
    return allowed_rules(line)


def silences(rules: frozenset[str] | None, *names: str) -> bool:
    """Whether an allow comment's ``rules`` (:func:`allowed_rules`) cover a finding known by any
    of ``names`` (its rule id, its family)."""
    return rules is not None and (not rules or any(n in rules for n in names))


def _rule_name(word: str) -> bool:
    from prodshield.secrets.rules import REGISTRY

    return (
        word in FAMILIES or ("." in word and word.split(".", 1)[0] in FAMILIES) or word in REGISTRY
    )
