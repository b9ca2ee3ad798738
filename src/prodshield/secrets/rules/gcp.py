"""Google Cloud: API keys (``AIza`` + 35) and service-account JSON key files (private_key_id)."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import B, E, RegexRule, char_classes


def _api_key(value: str) -> float | None:
    return 0.95 if char_classes(value[4:]) >= 2 else None


RULES = (
    RegexRule(
        type="gcp-api-key",
        kind="google_api_key",
        severity="high",
        keywords=("aiza",),
        pattern=re.compile(B + r"AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])"),
        description="Google API key",
        validate=_api_key,
        example={
            "text": '"maps": "AIza7uEXs8CgXTUwh2x_JhGKq9FFv-W4KF0T9ob"'  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="gcp-service-account-key",
        kind="gcp_service_account",
        severity="critical",
        keywords=("private_key_id",),
        pattern=re.compile(r'"private_key_id"\s*:\s*"(?P<value>[0-9a-f]{40})"' + E),
        description="Google service-account key file (private_key_id)",
        confidence=0.9,
        example={
            "text": '"private_key_id": "8a3f9f980bc9f5e4a0bc5ba562d8ccebfa7d931b",'  # prodshield:allow (a rule sample)
        },
    ),
)
