"""Every check type: implements the Check protocol, matches a config model, has a valid example,
and is documented."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from prodshield.config.checks import CheckConfig
from prodshield.config.schema import ShieldConfig
from prodshield.monitor.checks import Check, registry
from prodshield.monitor.expand import expand_checks

EXAMPLES = {
    "http": {"url": "https://example.com/health", "conditions": ["[STATUS] == 200"]},
    "tcp": {"host": "127.0.0.1", "port": 22, "expect": "SSH-"},
    "tls": {"host": "example.com", "conditions": ["[CERTIFICATE_EXPIRATION] > 14d"]},
    "dns": {"query": "example.com", "record": "A", "conditions": ["[DNS_RCODE] == NOERROR"]},
    "postgres": {
        "dsn": "postgresql://postgres@127.0.0.1/postgres",
        "conditions": ["[RESULT] == 1"],
    },
    "redis": {"url": "redis://127.0.0.1:6379/0", "role": "master"},
    "heartbeat": {"period": "24h", "grace": "1h"},
    "sequence": {
        "steps": [
            {
                "name": "login",
                "method": "POST",
                "url": "https://example.com/login",
                "capture": {"token": "[BODY].token"},
            },
            {
                "name": "orders",
                "url": "https://example.com/api/orders",
                "headers": {"Authorization": "Bearer {captures.token}"},
                "conditions": ["[STATUS] == 200"],
            },
        ],
        "conditions": ["[RESPONSE_TIME] < 2000"],
    },
}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "monitor.md"


def config_types() -> set[str]:
    union = typing.get_args(typing.get_args(CheckConfig)[0])
    return {typing.get_args(m.model_fields["type"].annotation)[0] for m in union}


def test_registry_matches_the_config_models() -> None:
    assert set(registry()) == config_types() == set(EXAMPLES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_member(kind: str) -> None:
    member = registry()[kind]
    assert isinstance(member, Check)
    assert member.type == kind
    config = ShieldConfig.model_validate(
        {"checks": [{"name": "x", "type": kind, **EXAMPLES[kind]}]}
    )
    (target,) = expand_checks(config)
    assert target.uses <= member.placeholders | {"RESPONSE_TIME"}
    for cond in target.conditions:  # the defaults too
        assert cond.placeholders() <= member.placeholders | {"RESPONSE_TIME"}
    assert f"`type: {kind}`" in DOCS.read_text(), f"{kind} is not documented in docs/monitor.md"
