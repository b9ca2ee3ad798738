"""Telegram bot tokens: ``<bot id>:AA`` + 33 characters."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import RegexRule

RULES = (
    RegexRule(
        type="telegram-bot-token",
        kind="telegram_bot_token",
        severity="high",
        keywords=(":aa",),
        pattern=re.compile(r"(?<![\w:])\d{8,10}:AA[A-Za-z0-9_-]{33}(?![\w-])"),
        description="Telegram bot token",
        example={
            "text": "bot = 613220639:AAc5qrDFZP5j0scIE3TqwEYTifnp35CEGhq"  # prodshield:allow (a rule sample)
        },
    ),
)
