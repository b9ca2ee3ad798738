"""The ``check`` provider's validation, its one-line failure without a shield.yaml, and the
guardrail example of docs/chaos-experiments.md validating as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prodshield.chaos.experiments import ActivityFailed, load_experiment, validate_experiment
from prodshield.chaos.experiments.providers import ActivityContext, get_provider

DOCS = Path(__file__).resolve().parents[2] / "docs" / "chaos-experiments.md"


def test_check_provider_validates_its_block() -> None:
    provider = get_provider("check")
    assert provider.validate(provider.example) == []
    assert provider.validate({"type": "check"}) == [
        "a check provider needs a 'name' (a check in shield.yaml)"
    ]
    assert provider.validate({"type": "check", "name": "api", "env": 3}) == [
        "check 'env' must be an environment name"
    ]


def test_check_provider_uses_the_runner_it_is_handed() -> None:
    provider = get_provider("check")
    calls: list[tuple[str, str | None]] = []

    def runner(name: str, env: str | None) -> tuple[bool, str]:
        calls.append((name, env))
        return env == "staging", "api (production): status 500"

    probe = ActivityContext("p", "probe", run_check=runner)
    assert provider.run({"type": "check", "name": "api", "env": "staging"}, probe) is True
    assert provider.run({"type": "check", "name": "api", "env": "production"}, probe) is False
    action = ActivityContext("a", "action", run_check=runner)
    with pytest.raises(ActivityFailed, match="check api: api \\(production\\): status 500"):
        provider.run({"type": "check", "name": "api", "env": "production"}, action)
    assert calls[0] == ("api", "staging")
    with pytest.raises(ActivityFailed, match=r"no shield\.yaml to run checks from"):
        provider.run({"type": "check", "name": "api"}, ActivityContext("p", "probe"))


def test_docs_guardrail_example_is_a_valid_experiment(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(title: api keeps.*?)```", text, re.S)
    assert block is not None
    path = tmp_path / "api-latency.yaml"
    path.write_text(block.group(1))
    validate_experiment(load_experiment(str(path)))
