"""Markdown (for a PR comment or a job summary).

Locations, messages and fixes quote the audited tree (file names, a symlink's target), which is
outside text: a location is a code span (`text.md_code`), a message or fix inert Markdown
(`text.md_text`: no link, image, HTML tag, mention or marker starts in it), control characters
as marks in both."""

from __future__ import annotations

from prodshield.audit.finding import Severity
from prodshield.audit.scan import AuditReport, unreachable_note
from prodshield.audit.suppress import suppressed_text
from prodshield.text import md_code, md_text

ICON = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦"}


def render(report: AuditReport, fail_on: Severity) -> str:
    s = report.summary(fail_on)
    verdict = "❌ failed" if s["failed"] else "✅ passed"
    note = unreachable_note(report)
    lines = [
        "## prodshield audit: " + ("⚠️ nothing checked" if report.nothing_checked else verdict),
        "",
        f"Gate: fail on **{fail_on.value}** or worse. "
        + ", ".join(f"{n} {k}" for k, n in s["by_severity"].items())
        + f". Families: {', '.join(report.families)}. Took {report.duration:.2f} s."
        + (f" {note[0].upper()}{note[1:]}." if note else ""),
        "",
    ]
    if report.findings:
        lines += ["| severity | rule | where | problem | fix |", "| --- | --- | --- | --- | --- |"]
        for f in report.findings:
            where = md_code(f.location, in_table=True)
            lines.append(
                f"| {ICON[f.severity.value]} {f.severity.value} | `{f.rule}` | {where} | "
                f"{md_text(f.message)} | {md_text(f.fix)} |"
            )
    else:
        lines.append("No findings.")
    if report.suppressed:
        lines += [
            "",
            f"Suppressed: {suppressed_text(report.suppressed)}.",
        ]
    return "\n".join(lines) + "\n"
