"""npm access tokens (``npm_`` + 30 random characters + base62 CRC32)."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import B, E, RegexRule, crc32_base62_ok


def _checksummed(token: str) -> float | None:
    return 0.99 if crc32_base62_ok(token[4:-6], token[-6:]) else None


RULES = (
    RegexRule(
        type="npm-token",
        kind="npm_token",
        severity="high",
        keywords=("npm_",),
        pattern=re.compile(B + r"npm_[A-Za-z0-9]{36}" + E),
        description="npm access token (CRC32-checked)",
        validate=_checksummed,
        example={
            "text": "//registry.npmjs.org/:_authToken=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"  # prodshield:allow (a rule sample)
        },
    ),
)
