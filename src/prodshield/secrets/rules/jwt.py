"""JSON Web Tokens whose header and payload decode to JSON objects (header names an ``alg``)."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import RegexRule, decodes_to_json_object


def _jwt(token: str) -> float | None:
    header_b64, payload_b64, signature = token.split(".")[:3]
    header = decodes_to_json_object(header_b64)
    if header is None or "alg" not in header or str(header.get("alg")).lower() == "none":
        return None
    payload = decodes_to_json_object(payload_b64)
    if payload is None or len(signature) < 16:
        return None
    if payload.get("sub") == "1234567890" and payload.get("name") == "John Doe":
        return None  # the jwt.io documentation token
    return 0.95


RULES = (
    RegexRule(
        type="jwt",
        kind="jwt",
        severity="medium",
        keywords=("eyj",),
        pattern=re.compile(
            r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![\w-])"
        ),
        description="JSON Web Token (decoded header and payload)",
        validate=_jwt,
        example={
            "text": "cookie session=eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiNjUzODExNDkiLCAicm9sZSI6ICJhZG1pbiJ9.AgaRQKyVa0v8TwQz7c_nMrxUH7hdie2FUVrfqGQoeHI; Path=/"  # prodshield:allow (a rule sample)
        },
    ),
)
