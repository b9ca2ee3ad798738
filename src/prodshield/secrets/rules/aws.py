"""AWS access key ids (base32 after a documented prefix). Secret keys are found by the generic
assignment rule, which names them when a 40-character base64 value sits under an AWS-like name."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import RegexRule

_ID = re.compile(
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16}(?![A-Za-z0-9])"
)


def _access_key_id(value: str) -> float | None:
    body = value[4:]
    # Random base32: several distinct characters and at least one digit 2-7 in practice.
    return 0.95 if len(set(body)) >= 8 else None


RULES = (
    RegexRule(
        type="aws-access-key-id",
        kind="aws_access_key_id",
        severity="critical",
        keywords=("akia", "asia", "abia", "acca", "aida", "aroa", "aipa", "anpa", "anva", "apka"),
        pattern=_ID,
        description="AWS access key id",
        validate=_access_key_id,
        example={
            "text": "aws_access_key_id = AKIA47XAKDWGVFCWG3NV"  # prodshield:allow (a rule sample)
        },
    ),
)
