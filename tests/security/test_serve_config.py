"""The serve section refuses weak tokens and bad proxy lists at load, with file:line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from prodshield.config import parse_config
from prodshield.errors import ConfigError


def _problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, name="shield.yaml", env=env or {})
    return info.value.problems


def test_a_short_serve_token_is_refused_with_its_line() -> None:
    problems = _problems('checks: []\nserve:\n  token: "x"\n')
    assert len(problems) == 1
    assert problems[0].startswith("shield.yaml:3:3: serve.token: token is too short (1 characters")
    assert "x" not in problems[0].split("serve.token:")[1].split("(")[0]  # not echoed
    assert "at least 16" in problems[0]
    # from the environment too
    problems = _problems('serve: {token: "${TOK}"}\n', env={"TOK": "short-token"})
    assert problems[0].startswith("shield.yaml:1:9: serve.token: token is too short (11 ")
    assert "short-token" not in problems[0]


def test_an_unset_token_still_means_generate_one() -> None:
    cfg = parse_config('serve: {token: "${PRODSHIELD_TOKEN:-}"}\n', env={}).config
    assert cfg.serve.token is None
    cfg = parse_config('serve: {token: "0123456789abcdef"}\n', env={}).config
    assert cfg.serve.token == "0123456789abcdef"


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    cfg = parse_config('serve: {trusted_proxies: ["10.0.0.0/8", "::1"]}\n', env={}).config
    assert cfg.serve.trusted_proxies == ["10.0.0.0/8", "::1"]
    problems = _problems('serve:\n  trusted_proxies: ["nginx.local"]\n')
    assert problems == [
        "shield.yaml:2:3: serve.trusted_proxies: 'nginx.local' is not an IP address or network"
    ]


def test_config_check_refuses_a_short_token_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    config.write_text('checks: []\nserve: {token: "hunter2"}\n')
    done = subprocess.run(
        [sys.executable, "-m", "prodshield", "config", "check", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"{config}:2:9: serve.token: token is too short" in done.stderr + done.stdout
    assert "hunter2" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
