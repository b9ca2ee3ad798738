"""A terminal table (rich), worst first, with a one-line verdict; under 120 columns one block
per finding (heading line, then the problem and the fix wrapped under it)."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from prodshield.audit.finding import Severity
from prodshield.audit.scan import AuditReport, unreachable_note
from prodshield.audit.suppress import suppressed_text
from prodshield.tables import fitted
from prodshield.text import one_line

STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def _cell(text: str) -> str:
    """Outside text (a file name, a value) for a cell: its escapes go before rich lays it out,
    since rich drops a BEL and would leave a string sequence without its end; a newline in it (a
    file's name) shows as ``␤``, since a finding's place, problem and fix are each one line."""
    return escape(one_line(text))


def render(report: AuditReport, fail_on: Severity, *, color: bool = False, width: int = 160) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf, no_color=not color, width=width, highlight=False, force_terminal=color
    )
    if report.findings and width < 120:
        # Narrow terminals: one block per finding (the heading line never cut, the problem and
        # the fix wrapped under it) instead of five columns squeezed to a word each.
        # wrapped between words, a long path between its parts (tables.fitted), never mid-word
        for f in report.findings:
            heading = Text.from_markup(
                f"[{STYLE[f.severity.value]}]{f.severity.value}[/]  {escape(f.rule)}  "
                f"{_cell(f.location)}"
            )
            console.print(fitted(heading, width))
            message = Text.from_markup(_cell(f.message))
            console.print(Padding(fitted(message, width - 2), (0, 0, 0, 2), expand=False))
            fix = fitted(Text.from_markup(f"[dim]fix:[/] {_cell(f.fix)}"), width - 2)
            console.print(Padding(fix, (0, 0, 1, 2), expand=False))
    elif report.findings:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True, min_width=max(len(f.rule) for f in report.findings))
        for col in ("where", "problem", "fix"):
            table.add_column(col, overflow="fold")
        for f in report.findings:
            table.add_row(
                f"[{STYLE[f.severity.value]}]{f.severity.value}[/]",
                escape(f.rule),
                _cell(f.location),
                _cell(f.message),
                _cell(f.fix),
            )
        console.print(table)
    s = report.summary(fail_on)
    counts = ", ".join(f"{n} {k}" for k, n in s["by_severity"].items() if n) or "no findings"
    verdict = "FAILED" if s["failed"] else "passed"
    extra = ""
    if report.suppressed:
        extra = f" (suppressed: {suppressed_text(report.suppressed)})"
    note = unreachable_note(report)
    if report.nothing_checked:
        console.print(f"audit: {note} (fail-on {fail_on.value}) in {report.duration:.2f}s")
    else:
        note = f"; {note}" if note else ""
        console.print(
            f"audit {verdict} (fail-on {fail_on.value}): {counts}{note} in "
            f"{report.duration:.2f}s{extra}"
        )
    for note in report.skipped[:20]:
        console.print(f"skipped: {_cell(note)}")  # notes name files and link targets
    if len(report.skipped) > 20:
        console.print(f"skipped: ... and {len(report.skipped) - 20} more")
    if color:
        return buf.getvalue()
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())
