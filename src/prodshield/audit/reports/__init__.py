"""Report formats: one module per format, each exposing ``render(report, fail_on) -> str``."""

from __future__ import annotations

from collections.abc import Callable

from prodshield.audit.finding import Severity
from prodshield.audit.reports import json_report, junit, markdown, sarif, table
from prodshield.audit.scan import AuditReport

Renderer = Callable[[AuditReport, Severity], str]

FORMATS: dict[str, Renderer] = {
    "table": table.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "markdown": markdown.render,
    "junit": junit.render,
}


def render(report: AuditReport, fmt: str, fail_on: Severity | str = Severity.HIGH) -> str:
    return FORMATS[fmt](report, Severity(fail_on))
