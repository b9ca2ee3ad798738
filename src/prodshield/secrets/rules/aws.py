"""AWS access key ids (base32 after a documented prefix) and secret access keys. A secret key has
no prefix: it is what the generic assignment rule judges a secret and names an AWS secret key (a
40-character base64 value under an AWS-like name), reported under this rule's id and severity so
`audit` and `audit secrets` give it one name and one severity."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from prodshield.secrets.finding import Severity
from prodshield.secrets.rules.base import Candidate, LineContext, RegexRule
from prodshield.secrets.rules.generic import GenericAssignmentRule

_ID = re.compile(
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16}(?![A-Za-z0-9])"
)


def _access_key_id(value: str) -> float | None:
    body = value[4:]
    # Random base32: several distinct characters and at least one digit 2-7 in practice.
    return 0.95 if len(set(body)) >= 8 else None


_FORTY = re.compile(r"[A-Za-z0-9/+]{40}")
_GENERIC = GenericAssignmentRule()


@dataclass(frozen=True)
class SecretAccessKeyRule:
    """An AWS secret access key assigned to a name (``aws_secret_access_key = ...``,
    ``SecretAccessKey: ...``, a Kubernetes ``name:``/``value:`` pair): the generic rule's judgement,
    kept when it names the value an AWS secret key."""

    type: str = "aws-secret-access-key"
    kind: str = "aws_secret_access_key"
    severity: Severity = "critical"
    keywords: tuple[str, ...] = ("aws", "access", "secret")
    description: str = "AWS secret access key assigned to a name"
    example: ClassVar[dict[str, str]] = {
        "text": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8RkT4a1x"  # prodshield:allow (a rule sample)
    }

    def find(self, ctx: LineContext) -> Iterator[Candidate]:
        if _FORTY.search(ctx.line) is None and not (ctx.tail and "name:" in ctx.lower):
            return  # no 40-character value here or on a next line the generic rule would read
        for cand in _GENERIC.find(ctx):
            if cand.kind == self.kind:
                yield cand


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
    SecretAccessKeyRule(),
)
