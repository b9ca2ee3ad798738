"""User secret rules from shield.yaml (``audit.secrets.rules``): a pattern, prefilter literals and
a minimum entropy, turned into the same `RegexRule` the shipped provider formats use."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from prodshield.secrets.filters import shannon_entropy
from prodshield.secrets.rules.base import RegexRule, SecretRule

if TYPE_CHECKING:
    from prodshield.config.capabilities import SecretRuleSpec


def _entropy_at_least(minimum: float) -> Callable[[str], float | None]:
    def check(value: str) -> float | None:
        return 0.9 if shannon_entropy(value) >= minimum else None

    return check


def custom_rules(specs: Iterable[SecretRuleSpec]) -> tuple[SecretRule, ...]:
    """One rule per spec (the specs were validated when shield.yaml was loaded; its loader
    reports a duplicate id at its file:line, this refuses one given any other way)."""
    specs = list(specs)
    ids = [spec.id for spec in specs]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate secret rule id {twice[0]!r}")
    # RegexRule is frozen; the protocol's plain attributes read as settable to mypy.
    return tuple(
        cast(
            SecretRule,
            RegexRule(
                type=spec.id,
                kind=spec.id.replace("-", "_").replace(".", "_"),
                severity=spec.severity,
                keywords=spec.prefilter_keywords(),
                pattern=re.compile(spec.pattern),
                description=spec.description or f"custom rule {spec.id} (shield.yaml)",
                validate=_entropy_at_least(spec.min_entropy) if spec.min_entropy else None,
                example={},  # the operator's own format: not a member of REGISTRY
                meta={"source": "shield.yaml"},
            ),
        )
        for spec in specs
    )
