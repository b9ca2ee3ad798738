"""``${VAR}`` and ``${VAR:-default}`` substitution from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping

_VAR_RE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


class MissingVariable(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def interpolate(
    text: str,
    env: Mapping[str, str],
    fallbacks: list[tuple[str, str]] | None = None,
) -> tuple[str, list[str]]:
    """Substitute variables in ``text``; return the result and the names that were missing.

    ``$$`` is a literal ``$``. ``${X:-d}`` uses ``d`` when X is unset or empty, ``${X-d}`` only when
    unset. Missing names are reported, and replaced by an empty string so validation continues.
    Each default used is appended to ``fallbacks`` as ``(name, default)`` (``config check`` warns
    about placeholders that were never replaced).
    """
    if "$" not in text:
        return text, []
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, default = m.group(1), m.group(2), m.group(3)
        value = env.get(name)
        if (op == ":-" and not value) or (op == "-" and value is None):
            if fallbacks is not None:
                fallbacks.append((name, default or ""))
            return default or ""
        if value is None:
            missing.append(name)
            return ""
        return value

    return _VAR_RE.sub(sub, text), missing


def referenced(text: str) -> list[str]:
    """The variable names ``text`` refers to as ``${VAR}`` (with or without a default)."""
    if "$" not in text:
        return []
    return [m.group(1) for m in _VAR_RE.finditer(text) if m.group(1)]


_PLACEHOLDERS = re.compile(
    r"^(unset|changeme|change[-_ ]?me|placeholder|todo|tbd|xxx+|dummy|example|secret|password|"
    r"your[-_ ].*|<.*>|replace[-_ ]?me|none|null|fixme)$",
    re.I,
)


def is_placeholder(value: str) -> bool:
    """A template's stand-in value (``unset``, ``changeme``, ``<token>``...), not a real one."""
    return bool(_PLACEHOLDERS.match(value.strip()))
