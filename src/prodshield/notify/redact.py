"""Keep secrets out of stored errors and printed output."""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN_PATTERNS = re.compile(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|hooks\.slack\.com/services/[A-Za-z0-9/]+)"
)


def mask(secret: str) -> str:
    """``ghp_abcdef...`` -> ``ghp_…(redacted)``: enough to recognise, not enough to use."""
    keep = 4 if len(secret) >= 16 else 0
    return secret[:keep] + "…(redacted)"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret value and every well-known token shape in ``text``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, mask(secret))
    return _TOKEN_PATTERNS.sub(lambda m: mask(m.group(0)), text)
