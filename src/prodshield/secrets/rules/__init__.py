"""The rule registry: every provider module contributes its `RULES`.

Order matters: when two rules claim overlapping text on a line, the earlier one wins, so precise
provider formats come first and the generic assignment rule comes last.
Adding a provider = adding one module here with a `RULES` tuple of `base.SecretRule` members (each
with its `type`, the rule id, and an `example` it reports), added to `_MODULES`.
"""

from __future__ import annotations

from prodshield.secrets.rules import (
    auth_headers,
    aws,
    azure,
    discord,
    gcp,
    generic,
    github,
    gitlab,
    jwt,
    mailgun,
    npm,
    openai,
    private_keys,
    pypi,
    sendgrid,
    slack,
    stripe,
    telegram,
    twilio,
    urls,
)
from prodshield.secrets.rules.base import SecretRule

_MODULES = (
    private_keys, github, gitlab, npm, pypi, aws, gcp, azure, slack, discord, telegram, stripe,
    sendgrid, twilio, mailgun, openai, jwt, urls, auth_headers, generic,
)  # fmt: skip

RULES: tuple[SecretRule, ...] = tuple(rule for module in _MODULES for rule in module.RULES)
REGISTRY: dict[str, SecretRule] = {rule.type: rule for rule in RULES}
