"""Markdown (for a PR comment or a job summary)."""

from __future__ import annotations

from prodshield.audit.finding import Severity
from prodshield.audit.scan import AuditReport

ICON = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: AuditReport, fail_on: Severity) -> str:
    s = report.summary(fail_on)
    lines = [
        "## prodshield audit: " + ("❌ failed" if s["failed"] else "✅ passed"),
        "",
        f"Gate: fail on **{fail_on.value}** or worse. "
        + ", ".join(f"{n} {k}" for k, n in s["by_severity"].items())
        + f". Families: {', '.join(report.families)}. Took {report.duration:.2f} s.",
        "",
    ]
    if report.findings:
        lines += ["| severity | rule | where | problem | fix |", "| --- | --- | --- | --- | --- |"]
        for f in report.findings:
            where = f"`{_cell(f.location)}`"
            lines.append(
                f"| {ICON[f.severity.value]} {f.severity.value} | `{f.rule}` | {where} | "
                f"{_cell(f.message)} | {_cell(f.fix)} |"
            )
    else:
        lines.append("No findings.")
    if report.suppressed:
        lines += [
            "",
            "Suppressed: " + ", ".join(f"{n} by {k}" for k, n in report.suppressed.items()),
        ]
    return "\n".join(lines) + "\n"
