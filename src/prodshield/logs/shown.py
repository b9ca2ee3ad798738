"""What ``logs parse`` prints of a log line, with its secrets masked (docs/logs.md, Redaction).

The miner learns the lines as they are (a template and its id do not depend on redaction); only
the output is redacted, by the one pass (`prodshield.secrets.redaction`, with the operator's
``audit.secrets.rules`` once a config is loaded), a block of messages at a time so that lines
without a secret cost one literal prefilter pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prodshield.secrets.redaction import redact_many, redact_params, redact_text

__all__ = ["fields_many", "messages", "params", "template"]


def messages(texts: Sequence[str]) -> tuple[list[str], list[bool]]:
    """``texts`` redacted, and for each whether the pass changed it."""
    shown = redact_many(texts)
    if shown == texts:  # the common case: nothing masked (same objects, compared by identity)
        return shown, [False] * len(shown)
    return shown, [s is not t and s != t for s, t in zip(shown, texts, strict=True)]


def params(values: list[str], shown_first_line: str) -> list[str]:
    """A changed message's parameters, masked as the message was (see `redact_params`)."""
    return redact_params(values, shown_first_line)


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
