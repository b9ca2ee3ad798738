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


def test_validation_knows_each_types_placeholders_without_the_checks() -> None:
    """``config check`` judges conditions from monitor/placeholders.py, which imports no network
    or database library; each member reads its own set from there."""
    import subprocess
    import sys

    from prodshield.monitor.placeholders import PLACEHOLDERS

    assert set(PLACEHOLDERS) == set(REGISTRY)
    for kind, member in REGISTRY.items():
        assert member.placeholders == PLACEHOLDERS[kind]
    code = (
        "import sys, prodshield.monitor.validation\n"
        "print(sorted(m for m in ('aiohttp', 'sqlalchemy', 'prodshield.monitor.checks')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr


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
