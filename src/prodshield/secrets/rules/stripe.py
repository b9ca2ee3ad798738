"""Stripe live secret and restricted keys (test keys are not secrets worth a gate)."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import B, E, RegexRule, char_classes


def _key(value: str) -> float | None:
    body = value[8:]
    return 0.97 if char_classes(body) >= 2 and len(set(body)) >= 10 else None


RULES = (
    RegexRule(
        id="stripe-secret-key",
        kind="stripe_secret_key",
        severity="critical",
        keywords=("sk_live_",),
        pattern=re.compile(B + r"sk_live_[A-Za-z0-9]{24,247}" + E),
        description="Stripe live secret key",
        validate=_key,
    ),
    RegexRule(
        id="stripe-restricted-key",
        kind="stripe_restricted_key",
        severity="critical",
        keywords=("rk_live_",),
        pattern=re.compile(B + r"rk_live_[A-Za-z0-9]{24,247}" + E),
        description="Stripe live restricted key",
        validate=_key,
    ),
)
