"""Stripe live secret and restricted keys (test keys are not secrets worth a gate)."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import B, E, RegexRule, char_classes


def _key(value: str) -> float | None:
    body = value[8:]
    return 0.97 if char_classes(body) >= 2 and len(set(body)) >= 10 else None


RULES = (
    RegexRule(
        type="stripe-secret-key",
        kind="stripe_secret_key",
        severity="critical",
        keywords=("sk_live_",),
        pattern=re.compile(B + r"sk_live_[A-Za-z0-9]{24,247}" + E),
        description="Stripe live secret key",
        validate=_key,
        example={
            "text": "Stripe.api_key = 'sk_live_VSSHfgJejo96wxq4LghH8rOv'"  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="stripe-restricted-key",
        kind="stripe_restricted_key",
        severity="critical",
        keywords=("rk_live_",),
        pattern=re.compile(B + r"rk_live_[A-Za-z0-9]{24,247}" + E),
        description="Stripe live restricted key",
        validate=_key,
        example={
            "text": "key: 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"  # prodshield:allow (a rule sample)
        },
    ),
)
