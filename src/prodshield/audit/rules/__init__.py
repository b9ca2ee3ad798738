"""The audit rule registry: every family and, through them, every rule by its stable id."""

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


def all_rules() -> list[Rule[Any]]:
    return [r for f in FAMILIES.values() for r in f.rules]


def rule_by_id(rule_id: str) -> Rule[Any] | None:
    for r in all_rules():
        if r.id == rule_id:
            return r
    return None


__all__ = ["FAMILIES", "Family", "Hit", "Rule", "Sample", "all_rules", "rule_by_id"]
