"""Discord bot tokens (first segment is the base64 of the bot's numeric id) and webhook URLs. Under
hyperscan, the bot token's context words only it and Twilio's rule use (``auth``, ``bot``) wake it
only beside a token's shape."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import (
    AUTH_NEAR_TOKEN,
    DISCORD_TOKEN_SHAPE,
    RegexRule,
    b64decode_loose,
    in_discord_token,
    near,
)
from prodshield.secrets.rules.generic import KEY_FORMS


def _bot_token(value: str) -> float | None:
    raw = b64decode_loose(value.split(".", 1)[0], urlsafe=True)
    return 0.95 if raw is not None and raw.isdigit() and 15 <= len(raw) <= 20 else None


RULES = (
    RegexRule(
        type="discord-bot-token",
        kind="discord_bot_token",
        severity="high",
        keywords=("discord", "bot", "token", "auth", "secret", *KEY_FORMS),
        pattern=re.compile(
            r"(?<![\w.-])[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}(?![\w-])"
        ),
        description="Discord bot token (id segment decoded)",
        validate=_bot_token,
        prefilter_patterns=(
            ("auth", AUTH_NEAR_TOKEN),
            ("bot", near("bot", (DISCORD_TOKEN_SHAPE,), inside=in_discord_token("bot"))),
        ),
        example={
            "text": "DISCORD_BOT=NDkxODk2MTQ4NTc1MDg4OTY0.dUM6l0.wneUV89mHqWtJ0ayuHaUlVrD5rT"  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="discord-webhook",
        kind="discord_webhook",
        severity="medium",
        keywords=("discord.com/api/webhooks", "discordapp.com/api/webhooks"),
        pattern=re.compile(
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{16,20}/[A-Za-z0-9_-]{60,80}"
        ),
        description="Discord webhook URL",
        example={
            "text": "hook: https://discord.com/api/webhooks/538336620389602146/QKjB6qQDvwq_c29IUgWoqgifXOBvVMXFxO5W9rSYzVsBE0lzkiHfvbbb4ZA1lf2kd0Ee"  # prodshield:allow (a rule sample)
        },
    ),
)
