"""GitHub tokens: classic PATs, OAuth, user-to-server, server-to-server, refresh, fine-grained PATs.

Classic-format tokens end with a 6-character base62 CRC32 of their 30 random characters.
"""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import B, E, RegexRule, crc32_base62_ok


def _checksummed(token: str) -> float | None:
    random_part, checksum = token[4:-6], token[-6:]
    return 0.99 if crc32_base62_ok(random_part, checksum) else None


def _fine_grained(token: str) -> float | None:
    rest = token[len("github_pat_") :]
    head, _, tail = rest.partition("_")
    if len(head) != 22 or len(tail) != 59:
        return None
    return 0.97 if any(c.isdigit() for c in rest) and any(c.isupper() for c in rest) else None


RULES = (
    RegexRule(
        type="github-pat-classic",
        kind="github_pat_classic",
        severity="high",
        keywords=("ghp_",),
        pattern=re.compile(B + r"ghp_[A-Za-z0-9]{36}" + E),
        description="GitHub classic personal access token (CRC32-checked)",
        validate=_checksummed,
        example={
            "text": "GITHUB_TOKEN=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"  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="github-oauth",
        kind="github_oauth",
        severity="high",
        keywords=("gho_", "ghu_", "ghs_", "ghr_"),
        pattern=re.compile(B + r"gh[ousr]_[A-Za-z0-9]{36}" + E),
        description="GitHub OAuth / app user-to-server / server-to-server / refresh token",
        validate=_checksummed,
        example={
            "text": 'token: "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"'  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="github-pat-fine-grained",
        kind="github_pat_fine_grained",
        severity="high",
        keywords=("github_pat_",),
        pattern=re.compile(B + r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}" + E),
        description="GitHub fine-grained personal access token",
        validate=_fine_grained,
        example={
            "text": "gh = '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'"  # prodshield:allow (a rule sample)
        },
    ),
)
