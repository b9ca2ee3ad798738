"""Every check type: implements the Check protocol, matches a config model, has a valid example,
and is documented."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from prodshield.config.checks import CheckConfig
from prodshield.config.schema import ShieldConfig
from prodshield.monitor.checks import REGISTRY, Check
from prodshield.monitor.expand import expand_checks

DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitor.md"


def config_types() -> set[str]:
    union = typing.get_args(typing.get_args(CheckConfig)[0])
    return {typing.get_args(m.model_fields["type"].annotation)[0] for m in union}


def test_registry_matches_the_config_models() -> None:
    assert set(REGISTRY) == config_types()


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_member(kind: str) -> None:
    member = REGISTRY[kind]
    assert isinstance(member, Check)
    assert member.type == kind
    assert member.example["type"] == kind
    config = ShieldConfig.model_validate({"checks": [{"name": "x", **member.example}]})
    (target,) = expand_checks(config)
    assert target.uses <= member.placeholders | {"RESPONSE_TIME"}
    for cond in target.conditions:  # the defaults too
        assert cond.placeholders() <= member.placeholders | {"RESPONSE_TIME"}
    assert f"`type: {kind}`" in DOCS.read_text(), f"{kind} is not documented in docs/monitor.md"
