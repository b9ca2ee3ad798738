"""SARIF 2.1.0 for GitHub code scanning: rules carry ``security-severity``; results carry
repo-relative locations and ``partialFingerprints``. Findings without a file (TLS endpoints, the
process environment) are anchored to the config file that named them and described by a logical
location. A path is a percent-encoded URI (`text.uri_path`): a ``#`` or a byte that is not UTF-8
in a file's name neither cuts the URI nor makes JSON that GitHub's upload refuses."""

from __future__ import annotations

import json
from typing import Any

from prodshield import __version__
from prodshield.audit.finding import AuditFinding, Severity
from prodshield.audit.rules import all_rules
from prodshield.audit.scan import AuditReport
from prodshield.text import unpaired_out, uri_path

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


def rule_descriptor(rule: Any) -> dict[str, Any]:
    sev: Severity = rule.severity
    return {
        "id": rule.type,
        "name": "".join(p.capitalize() for p in rule.type.replace(".", "-").split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.title}. Fix: {rule.fix}"},
        "help": {"text": rule.fix, "markdown": f"**{rule.title}**\n\nFix: {rule.fix}"},
        "defaultConfiguration": {"level": LEVEL[sev.value]},
        "properties": {
            "security-severity": sev.security_severity,
            "tags": ["security", rule.family],
            "precision": "high",
            "problem.severity": "error" if sev.rank >= 3 else "warning",
        },
    }


def _logical(f: AuditFinding) -> dict[str, Any]:
    """Where a finding without a file lives: a variable of a process, or an endpoint."""
    what = f.target or "process environment"
    if f.family == "environment":
        name = what.rsplit("env:", 1)[-1]
        process = what.split(" ", 1)[0] if what.startswith("pid:") else "process environment"
        return {"name": name, "fullyQualifiedName": f"{process}/{name}", "kind": "variable"}
    return {"name": what, "fullyQualifiedName": what, "kind": "resource"}


def _result(f: AuditFinding, index: int, anchor: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": LEVEL[f.severity.value],
        "message": {"text": f"{f.message}. Fix: {f.fix}"},
        "partialFingerprints": {"prodshieldFindingHash/v1": f.fingerprint},
        "properties": {"severity": f.severity.value, "family": f.family},
    }
    if not f.path:
        location: dict[str, Any] = {"logicalLocations": [_logical(f)]}
        if anchor and f.family != "environment":
            # An endpoint is anchored to the config file that named it, when there is one.
            location["physicalLocation"] = {
                "artifactLocation": {"uri": anchor, "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 1},
            }
        result["locations"] = [location]
        return result
    result["locations"] = [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": uri_path(f.path), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": f.line or 1},
            },
        }
    ]
    return result


def to_sarif(report: AuditReport, *, anchor: str | None = None) -> dict[str, Any]:
    """``anchor``: the repo-relative config file that named the endpoints (default: the
    report's ``anchor``, set only when that file exists under the audited root)."""
    anchor = anchor if anchor is not None else report.anchor
    rules = [r for r in all_rules() if r.family in report.families]
    index = {r.type: i for i, r in enumerate(rules)}
    document: dict[str, Any] = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "prodshield",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/prodshield/prodshield",
                        "rules": [rule_descriptor(r) for r in rules],
                    }
                },
                "automationDetails": {"id": "prodshield/audit/"},
                "columnKind": "unicodeCodePoints",
                "results": [_result(f, index.get(f.rule, 0), anchor) for f in report.findings],
            }
        ],
    }
    shown: dict[str, Any] = unpaired_out(document)  # a name that is not UTF-8 in a message
    return shown


def render(report: AuditReport, fail_on: Severity) -> str:
    return json.dumps(to_sarif(report), indent=2) + "\n"
