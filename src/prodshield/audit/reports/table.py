"""A terminal table (rich), worst first, with a one-line verdict."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from prodshield.audit.finding import Severity
from prodshield.audit.scan import AuditReport

STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def render(report: AuditReport, fail_on: Severity, *, color: bool = False, width: int = 160) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf, no_color=not color, width=width, highlight=False, force_terminal=color
    )
    if report.findings:
        table = Table(show_lines=False, expand=False)
        for col in ("severity", "rule", "where", "problem", "fix"):
            table.add_column(col, overflow="fold")
        for f in report.findings:
            table.add_row(
                f"[{STYLE[f.severity.value]}]{f.severity.value}[/]",
                f.rule,
                f.location,
                f.message,
                f.fix,
            )
        console.print(table)
    s = report.summary(fail_on)
    counts = ", ".join(f"{n} {k}" for k, n in s["by_severity"].items() if n) or "no findings"
    verdict = "FAILED" if s["failed"] else "passed"
    extra = ""
    if report.suppressed:
        extra = " (suppressed: " + ", ".join(f"{n} {k}" for k, n in report.suppressed.items()) + ")"
    console.print(
        f"audit {verdict} (fail-on {fail_on.value}): {counts} in {report.duration:.2f}s{extra}"
    )
    for note in report.skipped[:20]:
        console.print(f"skipped: {note}")
    if len(report.skipped) > 20:
        console.print(f"skipped: ... and {len(report.skipped) - 20} more")
    return buf.getvalue()
