"""The shield.yaml reference (docs/config.md) and JSON Schema are generated from the models and
stay current; every key is described, has an example that validates, and the schema accepts the
files prodshield writes and refuses what the loader refuses.

Regenerate docs/config.md with: PRODSHIELD_UPDATE_DOCS=1 pytest tests/config/test_config_reference.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from prodshield.config import parse_config
from prodshield.config.reference import (
    example_value,
    generated_part,
    render_markdown,
    replace_generated,
    sections,
    walk_fields,
)
from prodshield.config.schema import ShieldConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIG_MD = ROOT / "docs" / "config.md"


def prodshield(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_docs_config_md_is_current() -> None:
    document = CONFIG_MD.read_text(encoding="utf-8")
    if os.environ.get("PRODSHIELD_UPDATE_DOCS"):
        CONFIG_MD.write_text(replace_generated(document), encoding="utf-8")
        document = CONFIG_MD.read_text(encoding="utf-8")
    assert generated_part(document) == render_markdown(), (
        "docs/config.md is out of date with the config models: regenerate it with "
        "PRODSHIELD_UPDATE_DOCS=1 pytest tests/config/test_config_reference.py"
    )


def test_config_reference_command_prints_the_generated_reference() -> None:
    result = prodshield("config", "reference")
    assert result.returncode == 0, result.stderr
    assert result.stdout == render_markdown()
    assert result.stdout in CONFIG_MD.read_text(encoding="utf-8")


def _leaf(info: Any) -> bool:
    from prodshield.config.reference import _nested

    return _nested(info.annotation) is None


def _discriminator(path: str, key: str) -> bool:
    """The ``type`` of a check or notifier: described once for the union, not per member."""
    return key == "type" and path in ("checks[]", "notifiers.<name>")


def test_every_key_is_described_with_an_example_that_validates() -> None:
    undescribed, without_example, invalid = [], [], []
    for path, key, info in walk_fields():
        if _discriminator(path, key):
            continue
        where = f"{path}.{key}" if path else key
        if not (info.description or "").strip():
            undescribed.append(where)
        if not _leaf(info):
            continue
        value = example_value(info)
        if value is None:
            without_example.append(where)
            continue
        try:
            TypeAdapter(info.rebuild_annotation()).validate_python(value)
        except ValidationError as exc:
            invalid.append(f"{where}: {value!r}: {exc.errors()[0]['msg']}")
    assert not undescribed, f"fields without a docstring: {undescribed}"
    assert not without_example, (
        f"fields without an example (Field(examples=[...])): {without_example}"
    )
    assert not invalid, f"examples that do not validate: {invalid}"


def test_reference_rows_show_types_defaults_and_allowed_values() -> None:
    rows = {(s.path, k.name): k for s in sections() for k in s.keys}
    timeout = rows[("serve.limits", "header_timeout")]
    assert timeout.type == "duration, more than 0s, at most 10m"
    assert timeout.default == "`10s`"
    assert rows[("audit", "fail_on")].type == "one of `critical`, `high`, `medium`, `low`"
    assert rows[("logs", "max_lag_bytes")].default == "`64MiB`"
    assert rows[("checks[] type: http", "url")].default == "required"
    assert rows[("notifiers.<name> type: email", "from")].example == "from: prodshield@example.com"
    assert rows[("(top level)", "serve")].section == "serve"
    capability = {s.path: s.capability for s in sections()}
    assert capability["checks[] type: redis"] == "monitor"
    assert capability["chaos.proxies[].toxics[]"] == "chaos"
    md = render_markdown()
    assert "| `digest_cron` | string | `0 7 * * *` |" in md
    assert "Read by: notify; see [notify.md](notify.md)." in md


def test_docstrings_list_every_log_format_and_toxic_type() -> None:
    """The allowed values that live in a registry, not in a Literal, are named in the docstring."""
    from prodshield.chaos.proxy.toxics import REGISTRY as TOXICS
    from prodshield.config.capabilities import LogSource, ToxicSpec
    from prodshield.logs.formats.registry import FORMATS

    format_doc = LogSource.model_fields["format"].description or ""
    missing = [name for name in FORMATS if f"`{name}`" not in format_doc]
    assert not missing, f"logs.sources[].format does not name {missing}"
    toxic_doc = ToxicSpec.model_fields["type"].description or ""
    missing = [name for name in TOXICS if f"`{name}`" not in toxic_doc]
    assert not missing, f"toxics[].type does not name {missing}"


# -- the JSON Schema -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = prodshield("config", "schema")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(data)
    return data


def _as_editor_reads(text: str) -> Any:
    """YAML as the YAML language server validates it: timestamps stay text."""
    data = yaml.safe_load(text)

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    return plain(data)


def _errors(schema: dict[str, Any], text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message[:120]}"
        for e in validator.iter_errors(_as_editor_reads(text))
    ]


def test_init_example_validates_against_the_printed_schema(
    schema: dict[str, Any], tmp_path: Path
) -> None:
    result = prodshield("init", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "shield.yaml").read_text(encoding="utf-8")
    assert _errors(schema, text) == []


def test_demo_config_validates_against_the_printed_schema(
    schema: dict[str, Any], tmp_path: Path
) -> None:
    from prodshield.demo.platform import Platform, shield_yaml

    platform = Platform(folder=tmp_path, production_port=18001, staging_port=18002, tls_port=18003)
    text = shield_yaml(platform, f"sqlite:///{tmp_path / 'prodshield.db'}")
    parse_config(text, env={})  # the loader takes it too
    assert _errors(schema, text) == []


def test_schema_takes_durations_sizes_and_variables_as_text(schema: dict[str, Any]) -> None:
    text = """\
defaults: {interval: 1h30m, timeout: 250ms, failure_threshold: "${FAILURES:-3}"}
retention: {raw_results: 14d, max_store_size: 20GB}
maintenance:
  - {start: 2026-03-01T02:00:00Z, end: 2026-03-01T04:00:00Z}
logs:
  sources: [{name: app, path: /var/log/app.log, max_bytes_per_hour: 512KiB}]
serve: {port: "${PORT:-8080}", limits: {header_timeout: 10s}}
"""
    assert _errors(schema, text) == []
    parse_config(text, env={})  # and the loader agrees


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("serve: {prot: 8080}\n", "serve"),
        ("defaults: {interval: soon}\n", "defaults.interval"),
        ("retention: {max_store_size: 20 parsecs}\n", "retention.max_store_size"),
        ("checks: [{name: a, type: htp, url: 'http://x'}]\n", "checks.0"),
        ("checks: [{name: a, type: http}]\n", "checks.0"),
        ("audit: {fail_on: sometimes}\n", "audit.fail_on"),
        ("serve: {port: eighty}\n", "serve.port"),
    ],
)
def test_schema_refuses_what_the_loader_refuses(
    schema: dict[str, Any], text: str, where: str
) -> None:
    errors = _errors(schema, text)
    assert errors, text
    assert any(e.startswith(f"{where}:") for e in errors), errors
    with pytest.raises(Exception):  # noqa: B017 - ConfigError; the point is both refuse it
        parse_config(text, env={})


def test_schema_describes_keys_for_editor_hovers(schema: dict[str, Any]) -> None:
    limits = schema["$defs"]["ServeLimits"]["properties"]["header_timeout"]
    assert "whole request" in limits["description"]
    assert ShieldConfig.model_fields["serve"].description
    assert (
        schema["properties"]["serve"]["description"] == "The long-lived service and its web pages."
    )


def test_the_docstrings_are_read_for_the_reference_alone() -> None:
    """Loading shield.yaml does not read the models' attribute docstrings (finding and parsing
    each class's source cost every command about 0.05-0.08 CPU-s); the reference and the schema
    read them, with the descriptions pydantic's ``use_attribute_docstrings`` gave (the
    docs/config.md test above holds them to the same text)."""
    code = (
        "from prodshield.config.schema import ShieldConfig\n"
        "from prodshield.config.checks import TcpCheckConfig\n"
        "print(ShieldConfig.model_fields['storage'].description)\n"
        "print(TcpCheckConfig.model_fields['name'].description)\n"
        "import prodshield.config.reference\n"
        "print(ShieldConfig.model_fields['storage'].description.split(':')[0])\n"
        "print(TcpCheckConfig.model_fields['name'].description.split(',')[0])\n"
        "print(ShieldConfig.model_json_schema()['properties']['version']['description'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines() == [
        "None",
        "None",
        "Where results, incidents, findings and the outbox are kept",
        "The check's name",
        "The file format's version (1, the only one so far).",
    ]
