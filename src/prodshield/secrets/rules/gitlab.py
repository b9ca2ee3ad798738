"""GitLab tokens: personal/project/group access, deploy, runner, trigger, feed, OAuth secrets."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import B, RegexRule, char_classes

_PREFIXES = ("glpat-", "gldt-", "glrt-", "glptt-", "gloas-", "glft-", "glimt-", "glcbt-", "glsoat-")


def _token(value: str) -> float | None:
    body = value.split("-", 1)[1]
    return 0.97 if char_classes(body) >= 2 and len(set(body)) >= 8 else None


RULES = (
    RegexRule(
        type="gitlab-token",
        kind="gitlab_pat",
        severity="high",
        keywords=_PREFIXES,
        pattern=re.compile(
            B
            + r"(?:glpat|gldt|glrt|glptt|gloas|glft|glimt|glcbt|glsoat)-[0-9A-Za-z_.-]{20,64}(?![0-9A-Za-z_-])"
        ),
        description="GitLab access token",
        validate=_token,
        example={
            "text": "curl --header 'PRIVATE-TOKEN: glpat-OkXToErLugaBQ6Mppmdu'"  # prodshield:allow (a rule sample)
        },
    ),
)
