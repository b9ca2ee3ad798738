"""``Authorization: Bearer/Basic/Token`` credentials, as they appear in logs, curl lines and dumps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from prodshield.secrets.filters import (
    has_placeholder_word,
    is_hash_length_hex,
    is_not_secret_value,
)
from prodshield.secrets.finding import Severity
from prodshield.secrets.rules.base import Candidate, LineContext, b64decode_loose, char_classes

_HEADER = re.compile(
    r"(?i:(?P<auth>authorization|proxy-authorization)[\"']?\s*[:=]\s*[\"']?\s*)?"
    r"(?<![\w-])(?P<scheme>[Bb]earer|BEARER|[Bb]asic|BASIC|[Tt]oken)\s+(?P<value>[A-Za-z0-9._~+/=:-]{6,2048})"
)


def _plausible_bearer(value: str) -> bool:
    if is_not_secret_value(value) or has_placeholder_word(value) or is_hash_length_hex(value):
        return False
    if value.isalnum() and len(value) <= 32 and char_classes(value) == 3:
        return False  # opaque short alphanumerics: session and request ids as often as tokens
    if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
        return len(value) >= 8
    return len(value) >= 20 and char_classes(value) >= 2


def _basic_ok(value: str) -> bool:
    raw = b64decode_loose(value)
    if raw is None:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    _user, sep, password = text.partition(":")
    return bool(sep and password) and not has_placeholder_word(password) and text.isprintable()


@dataclass(frozen=True)
class AuthorizationHeaderRule:
    type: str = "authorization-header"
    example: ClassVar[dict[str, str]] = {
        "text": "Authorization: Bearer MG6U2dZt5bkbCB47OaFgGqs0oZ9SDI8pW5jiNIaG-CX52BLv3"  # prodshield:allow (a rule sample)
    }
    kind: str = "bearer_token"
    severity: Severity = "high"
    keywords: tuple[str, ...] = ("bearer", "basic ", "token ")
    description: str = "Credential in an Authorization header (Bearer, Basic, Token)"

    def find(self, ctx: LineContext) -> Iterator[Candidate]:
        for match in _HEADER.finditer(ctx.line):
            scheme = match.group("scheme").lower()
            value = match.group("value").rstrip(".:")
            has_header = match.group("auth") is not None
            if scheme == "basic":
                if not _basic_ok(value):
                    continue
                kind = "basic_auth_header"
            elif scheme == "token" and not has_header:
                continue  # "token xyz" in prose is too weak without the header name
            else:
                if not _plausible_bearer(value):
                    continue
                kind = "bearer_token"
            start = match.start("value")
            yield Candidate(
                start, start + len(value), value, 0.85 if has_header else 0.75, kind=kind
            )


RULES = (AuthorizationHeaderRule(),)
