"""The audit's view of the secret-matching engine (:mod:`prodshield.secrets`).

Permissions ("files that contain secrets") and the environment family ask two questions: does
this text hold a secret, and is this variable's value a secret. Both go to the shared engine when
it is installed; otherwise a small built-in set of token formats and an entropy test answer, so
the audit still works on its own.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

SECRET_NAME = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|auth|"
    r"credential|signing[_-]?key|client[_-]?secret|dsn)",
    re.I,
)
NOT_SECRET_NAME = re.compile(r"(_file|_path|_url_path|_id|_name|_user(name)?|_length|_ttl)$", re.I)

TOKEN_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{60,}\b")),
    ("Slack token", re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b")),
    ("Stripe live key", re.compile(r"\b[sr]k_live_[A-Za-z0-9]{20,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("OpenAI key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}\b")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b")),
)


HIGH_ENTROPY = "high-entropy value"
"""The kind `env_secret` gives from its own test (a secret-like name, a random-looking value),
where the engine's rules found nothing."""


@dataclass(frozen=True)
class SecretMatch:
    kind: str
    redacted: str
    secret_id: str | None = None
    """The engine's keyed id of the value (``prodshield.secrets.finding.secret_id``): the same
    secret in a file and in a process's environment has the same id in one run."""
    severity: str | None = None
    """The engine's severity of the credential format matched (``critical`` for an AWS secret
    key), None for a name-based guess."""


def redact(value: str) -> str:
    """Keep at most 4 leading characters; never the whole value."""
    try:
        from prodshield.secrets import redact as engine_redact

        return str(engine_redact(value))
    except ImportError:
        pass
    v = value.strip()
    if len(v) <= 8:
        return "*" * len(v)
    return v[:4] + "…" + f"({len(v)} chars)"


def entropy(value: str) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _engine_kinds(text: str, path: str | None = None) -> list[str]:
    return [kind for kind, _, _ in _engine_matches(text, path)]


def _engine_matches(text: str, path: str | None = None) -> list[tuple[str, str | None, str | None]]:
    """(kind, secret id, severity) of each engine finding in ``text``."""
    from prodshield.secrets import scan_text

    return [
        (
            str(getattr(f, "kind", None) or f.rule),
            getattr(f, "secret_id", None),
            getattr(f, "severity", None),
        )
        for f in scan_text(text, path=path)
    ]


def _value_id(value: str) -> str | None:
    try:
        from prodshield.secrets.finding import secret_id
    except ImportError:
        return None
    return secret_id(value)


def contains_secret(text: str) -> bool:
    """Does ``text`` hold a known token format (engine when installed, else built-in)?"""
    try:
        return bool(_engine_kinds(text))
    except ImportError:
        return any(p.search(text) for _, p in TOKEN_FORMATS)


_PATH_VALUE = re.compile(r"^(?:~|\.{1,2})?/[^\s,;]*$")


def looks_like_path(value: str) -> bool:
    """A filesystem path (``/home/runner/work``, ``~/.ssh/agent.sock``): a place, not a secret."""
    return bool(_PATH_VALUE.match(value))


def _is_generic(kind: str) -> bool:
    """Kinds the engine gives from a secret-like *name* and a plausible value, not a format."""
    return kind.startswith("generic_")


def env_secret(name: str, value: str, *, by_value: bool = False) -> SecretMatch | None:
    """Is this variable's value a plaintext secret: a known token, or high entropy under a
    secret-like name? References (``${X}``), empty, placeholder and path values are not.

    ``by_value``: the name says nothing (a variable a shell, runner or container sets): only a
    recognised credential format counts, never a name-based guess.
    """
    v = value.strip().strip("'\"")
    if not v or v.startswith(("$", "{{", "<")) or v.lower() in ("none", "null", "changeme"):
        return None
    matches: list[tuple[str, str | None, str | None]] = []
    try:
        matches = _engine_matches(f"{name}={v}\n")
    except ImportError:
        matches = [(k, None, None) for k, p in TOKEN_FORMATS if p.search(v)]
    kinds = [k for k, _, _ in matches]
    # the id of what the engine matched (the token inside the value), else of the whole value
    sid = next((i for _, i, _ in matches if i), None) or _value_id(v)
    formats = [(k, severity) for k, _, severity in matches if not _is_generic(k)]
    if formats:
        return SecretMatch(formats[0][0], redact(v), sid, formats[0][1])
    if by_value:
        if any(p.search(v) for _, p in TOKEN_FORMATS):
            return SecretMatch(next(k for k, p in TOKEN_FORMATS if p.search(v)), redact(v), sid)
        return None
    if looks_like_path(v):
        return None  # a socket, a helper program or a working directory under a "pass"/"auth" name
    if kinds:
        return SecretMatch(kinds[0], redact(v), sid)
    if SECRET_NAME.search(name) and not NOT_SECRET_NAME.search(name):
        if "://" in v and "@" not in v:
            return None  # a plain URL, not a credential
        if len(v) >= 12 and entropy(v) >= 3.0 and not v.isdigit():
            # the caller names the variable
            return SecretMatch(HIGH_ENTROPY, redact(v), sid)
    return None
