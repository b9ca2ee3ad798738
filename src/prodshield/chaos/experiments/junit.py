"""A JUnit XML report of a journal, for CI: one test case per activity run, plus the verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from prodshield.chaos.experiments.journal import outcome


def _case(suite: ET.Element, classname: str, run: Mapping[str, Any]) -> tuple[int, int]:
    activity = run.get("activity") or {}
    name = str(activity.get("name") or activity.get("ref") or "activity")
    case = ET.SubElement(
        suite, "testcase", classname=classname, name=name, time=f"{run.get('duration') or 0:.3f}"
    )
    if run.get("status") == "failed":
        err = ET.SubElement(case, "error", message="activity failed")
        err.text = "".join(run.get("exception") or [])
        return 0, 1
    if run.get("tolerance_met") is False:
        fail = ET.SubElement(case, "failure", message="output outside the tolerance")
        fail.text = str(run.get("output"))[:2000]
        return 1, 0
    return 0, 0


def to_junit(journal: Mapping[str, Any]) -> str:
    """The JUnit XML text for ``journal``."""
    title = str((journal.get("experiment") or {}).get("title") or "experiment")
    suites = ET.Element("testsuites", name="prodshield chaos")
    suite = ET.SubElement(suites, "testsuite", name=title)
    tests = failures = errors = 0
    steady = journal.get("steady_states") or {}
    groups: list[tuple[str, list[Mapping[str, Any]]]] = []
    for when in ("before", "after", "after_rollbacks"):
        state = steady.get(when)
        if state:
            groups.append((f"steady-state.{when}", state.get("probes") or []))
    for i, state in enumerate(steady.get("during") or []):
        if state:
            groups.append((f"steady-state.during.{i}", state.get("probes") or []))
    groups.append(("method", journal.get("run") or []))
    groups.append(("rollbacks", journal.get("rollbacks") or []))
    for classname, runs in groups:
        for run in runs:
            f, e = _case(suite, classname, run)
            tests, failures, errors = tests + 1, failures + f, errors + e
    verdict = outcome(journal)
    case = ET.SubElement(
        suite,
        "testcase",
        classname="experiment",
        name="verdict",
        time=f"{journal.get('duration') or 0:.3f}",
    )
    tests += 1
    if verdict != "completed":
        fail = ET.SubElement(case, "failure", message=f"experiment {verdict}")
        fail.text = f"status={journal.get('status')} deviated={journal.get('deviated')}"
        failures += 1
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("time", f"{journal.get('duration') or 0:.3f}")
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
