"""Twilio API key SIDs (``SK`` + 32 hex). The pattern has no distinctive literal of its own, so the
rule runs on lines that name a key, a token, a secret or Twilio; under hyperscan, the words only
this rule and Discord's use (``auth``, ``sid``, ``sms``) wake it only beside a SID's shape."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import AUTH_NEAR_TOKEN, TWILIO_SID_SHAPE, B, E, RegexRule, near
from prodshield.secrets.rules.generic import KEY_FORMS


def _sid(value: str) -> float | None:
    body = value[2:]
    return 0.9 if len(set(body)) >= 8 and any(c.isalpha() for c in body) else None


RULES = (
    RegexRule(
        type="twilio-api-key",
        kind="twilio_api_key",
        severity="high",
        keywords=(
            "twilio",
            *KEY_FORMS,
            "token",
            "secret",
            "sms",
            "sid",
            "auth",
            "bearer",
            "credential",
        ),
        pattern=re.compile(B + r"SK[0-9a-fA-F]{32}" + E),
        description="Twilio API key SID",
        validate=_sid,
        prefilter_patterns=(
            ("auth", AUTH_NEAR_TOKEN),
            ("sid", near("sid", (TWILIO_SID_SHAPE,))),
            ("sms", near("sms", (TWILIO_SID_SHAPE,))),
        ),
        example={
            "text": "twilio_key: SK2fa0777b56e8d1883163f1496a54353d"  # prodshield:allow (a rule sample)
        },
    ),
)
