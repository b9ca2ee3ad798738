"""JUnit XML: one test case per rule that ran; a failure per finding at or above the gate."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from prodshield.audit.finding import AuditFinding, Severity
from prodshield.audit.rules import FAMILIES
from prodshield.audit.scan import AuditReport


def render(report: AuditReport, fail_on: Severity) -> str:
    by_rule: dict[str, list[AuditFinding]] = defaultdict(list)
    for f in report.findings:
        by_rule[f.rule].append(f)
    suites = ET.Element("testsuites", name="prodshield audit", time=f"{report.duration:.3f}")
    for family in report.families:
        rules = FAMILIES[family].rules
        failures = sum(
            1 for r in rules for f in by_rule.get(r.type, []) if f.severity.at_least(fail_on)
        )
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=family,
            tests=str(len(rules)),
            failures=str(failures),
            errors="0",
            skipped="0",
        )
        for r in rules:
            case = ET.SubElement(suite, "testcase", classname=f"audit.{family}", name=r.type)
            for f in by_rule.get(r.type, []):
                tag = "failure" if f.severity.at_least(fail_on) else "system-out"
                el = ET.SubElement(case, tag)
                text = f"[{f.severity.value}] {f.location}: {f.message} -- fix: {f.fix}"
                if tag == "failure":
                    el.set("message", f"{f.location}: {f.message}")
                    el.set("type", f.severity.value)
                el.text = text
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
