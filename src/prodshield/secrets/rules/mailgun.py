"""Mailgun private API keys (``key-`` + 32 hex, or the newer 32-hex + two 8-hex groups)."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import RegexRule

RULES = (
    RegexRule(
        type="mailgun-api-key",
        kind="mailgun_api_key",
        severity="high",
        keywords=("key-", "mailgun"),
        pattern=re.compile(
            r"(?<![\w-])(?:key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})(?![\w-])"
        ),
        description="Mailgun API key",
        example={
            "text": "mailgun = key-35b04a8c37e492496f627df4beed99d9"  # prodshield:allow (a rule sample)
        },
    ),
)
