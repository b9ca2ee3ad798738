"""The audit rule registry: ``FAMILIES`` (each finds its subjects and runs its rules) and
``REGISTRY``, every rule by its ``type`` (its stable id, ``family.name``)."""

from __future__ import annotations

from typing import Any

from prodshield.audit.rules import config, environment, permissions, secrets, tls
from prodshield.audit.rules.base import Family, Hit, Rule, Sample

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        permissions.FAMILY,
        tls.FAMILY,
        config.FAMILY,
        secrets.FAMILY,
        environment.FAMILY,
    )
}


REGISTRY: dict[str, Rule[Any]] = {r.type: r for f in FAMILIES.values() for r in f.rules}
"""Every rule by its id (``type``), family by family in the order above."""


def all_rules() -> list[Rule[Any]]:
    return list(REGISTRY.values())


def rule_by_id(rule_id: str) -> Rule[Any] | None:
    return REGISTRY.get(rule_id)


__all__ = ["FAMILIES", "REGISTRY", "Family", "Hit", "Rule", "Sample", "all_rules", "rule_by_id"]
