"""SendGrid API keys: ``SG.`` + 22-character id + ``.`` + 43-character secret."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import B, RegexRule, char_classes


def _key(value: str) -> float | None:
    return 0.97 if char_classes(value.rsplit(".", 1)[1]) >= 2 else None


RULES = (
    RegexRule(
        type="sendgrid-api-key",
        kind="sendgrid_api_key",
        severity="high",
        keywords=("sg.",),
        pattern=re.compile(B + r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
        description="SendGrid API key",
        validate=_key,
        example={
            "text": "MAIL=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"  # prodshield:allow (a rule sample)
        },
    ),
)
