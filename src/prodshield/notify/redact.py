"""Keep secrets out of stored errors and printed output (the notify layer's entry point).

The masking itself is `prodshield.secrets.redaction.redact_text`, the one redaction pass; here the
notifiers' own secrets (tokens, webhook URLs) are added to what it masks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prodshield.secrets.redaction import redact_text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret value and every secret shape in ``text``."""
    return redact_text(text, known=secrets)


def notifier_secrets(notifiers: Mapping[str, Any]) -> list[str]:
    """The secret values (tokens, webhook URLs) of the configured notifiers (``notifiers:``),
    to mask in whatever shows a stored error; a notifier that does not build adds none."""
    from prodshield.errors import Invalid
    from prodshield.notify.providers import build

    out: list[str] = []
    for cfg in notifiers.values():
        try:
            out += build(cfg).secrets()
        except Invalid:
            continue
    return out
