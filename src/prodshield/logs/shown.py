"""What ``logs parse`` prints of a log line, with its secrets masked (docs/logs.md, Redaction).

Everything shown is redacted by the one pass (`prodshield.secrets.redaction`, with the operator's
``audit.secrets.rules`` once a config is loaded), a block of messages at a time so that lines
without a secret cost one literal prefilter pass. The miner learns what :func:`learnable` makes of
a line: the line itself, or when the pass masked something, the masked line with each mask a
variable. So no part of a secret becomes template text (the miner masks a token's digits, after
which the pass would no longer recognise ``xoxb-<*>-<*>-ZyXw...``), nor reaches the miner's state
in the store, and the template keeps a ``<*>`` where the secret was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from prodshield.logs.masking import WILDCARD
from prodshield.secrets.redaction import redact_many, redact_text

__all__ = ["fields_many", "learnable", "learnable_many", "messages", "template"]

# What the redaction pass writes in place of a secret: ``***``, or a few leading characters
# and a fingerprint (``ghp_…[03aafb02]``, `prodshield.secrets.finding.redact`). The leading
# characters never take a delimiter that may come before the secret (``token=``).
_MASKS = re.compile(r"\*\*\*|[^\s\"'`,;:=()\[\]{}<>@…]{0,4}…\[[0-9a-f]{8}\]")


def learnable(text: str, shown: str) -> str:
    """What the miner learns of ``text``, printed as ``shown`` (its redaction): ``text`` when the
    pass masked nothing, else ``shown`` with each mask a variable ``<*>`` (the same tokens, so a
    line's parameters are read from ``shown`` by the template's plan, masked as printed)."""
    if shown is text or shown == text:
        return text
    return _MASKS.sub(WILDCARD, shown)


def learnable_many(texts: Sequence[str]) -> tuple[list[str], list[str]]:
    """``texts`` as printed (redacted, a block at a time) and as the miner learns them."""
    shown = redact_many(texts)
    return shown, [t if s is t else learnable(t, s) for t, s in zip(texts, shown, strict=True)]


def messages(texts: Sequence[str]) -> tuple[list[str], list[bool]]:
    """``texts`` redacted, and for each whether the pass changed it."""
    shown = redact_many(texts)
    if shown == texts:  # the common case: nothing masked (same objects, compared by identity)
        return shown, [False] * len(shown)
    return shown, [s is not t and s != t for s, t in zip(shown, texts, strict=True)]


def template(text: str | None) -> str | None:
    """A template as printed (a line seen once is its own template); its id is unchanged."""
    return redact_text(text) if text else text


def fields_many(all_fields: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event's ``fields`` with secrets masked: every text value is redacted as
    ``name=value``, so a value is masked by its name (``password``) as well as by its shape."""
    keys: list[tuple[int, str]] = []
    texts: list[str] = []
    for index, fields in enumerate(all_fields):
        for name, value in fields.items():
            if value.__class__ is str:
                keys.append((index, name))
                texts.append(f"{name}={value}")
            elif isinstance(value, dict | list):
                import orjson

                keys.append((index, name))
                texts.append(f"{name}={orjson.dumps(value, default=str).decode()}")
    out = list(all_fields)
    shown_texts = redact_many(texts)
    if shown_texts == texts:  # nothing masked (same objects, compared by identity)
        return out
    for (index, name), text, shown in zip(keys, texts, shown_texts, strict=True):
        if shown is text or shown == text:
            continue
        if out[index] is all_fields[index]:
            out[index] = dict(all_fields[index])
        prefix = f"{name}="
        out[index][name] = shown[len(prefix) :] if shown.startswith(prefix) else "***"
    return out
