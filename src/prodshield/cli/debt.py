"""``prodshield debt``: TODO/FIXME/HACK/XXX/BUG markers with git-blame authors and age."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from prodshield.cli.common import (
    ConfigOption,
    Grid,
    console,
    load,
    plural,
    print_json,
    store_for,
    untrusted,
    write_out,
)
from prodshield.errors import NotFound, UsageError
from prodshield.logs.debt import DebtReport, diff_against, last_snapshot, save_snapshot, scan_repo
from prodshield.text import md_code, md_text

app = typer.Typer()


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command("debt")
def debt(
    repo: Annotated[
        Path, typer.Argument(help="A git repository (default: the current folder).")
    ] = Path("."),
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    config: ConfigOption = None,
    top: Annotated[int, typer.Option(help="Rows per group in the table.")] = 10,
) -> None:
    """List technical-debt markers in comments, grouped by author, file and marker.

    With a config (-c, $PRODSHIELD_CONFIG or ./shield.yaml) the run is kept in the store and the
    delta against the previous run is shown.
    """
    if not (repo / ".git").exists() and not repo.joinpath(".git").is_file():
        import subprocess

        probe = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--git-dir"], capture_output=True
        )
        if probe.returncode != 0:
            raise UsageError(f"{repo}: not a git repository")
    report = scan_repo(repo)
    store = None
    try:
        loaded = load(config)
    except NotFound:
        loaded = None
    if loaded is not None:
        store = store_for(loaded)
        diff_against(report, last_snapshot(store, report.repo))
        save_snapshot(store, report)
        store.close()
    if fmt is Format.json:
        print_json(report.to_dict())
    elif fmt is Format.markdown:
        write_out(render_markdown(report, top) + "\n")
    else:
        render_table(report, top)


def _age(days: float | None) -> str:
    """Days since the line was committed: 0 for today's, "-" when it is not committed."""
    return "-" if days is None else f"{days:.0f}"


def render_markdown(report: DebtReport, top: int = 10) -> str:
    lines = [
        f"# Technical debt in {report.repo}",
        "",
        f"{plural(len(report.items), 'marker')} in {plural(report.files_scanned, 'tracked file')}.",
    ]
    if report.added is not None:
        lines.append(
            f"Since the previous run: +{len(report.added)} new, -{len(report.removed or [])} resolved."
        )
    for title, key in (("By marker", "marker"), ("By author", "author"), ("By file", "path")):
        lines += ["", f"## {title}", "", "| | count |", "| --- | ---: |"]
        lines += [f"| {md_text(name)} | {n} |" for name, n in report.by(key)[:top]]
    lines += [
        "",
        "## Oldest",
        "",
        "| age (days) | marker | where | author | text |",
        "| ---: | --- | --- | --- | --- |",
    ]
    oldest = report.oldest(top)
    lines += [
        f"| {_age(i.age_days)} | {md_text(i.marker)} | {md_code(f'{i.path}:{i.line}', in_table=True)}"
        f" | {md_text(i.who)} | {md_text(i.text[:100])} |"
        for i in oldest
    ]
    return "\n".join(lines)


def render_table(report: DebtReport, top: int) -> None:
    out = console()
    out.print(
        f"{plural(len(report.items), 'debt marker')} in "
        f"{plural(report.files_scanned, 'tracked file')} of {report.repo} "
        f"({report.seconds:.2f}s)"
    )
    if report.added is not None:
        out.print(
            f"since the previous run: +{len(report.added)} new, -{len(report.removed or [])} resolved"
        )
    if not report.items:
        return  # no empty tables
    for title, key in (("marker", "marker"), ("author", "author"), ("file", "path")):
        table = Grid(title, "count", keys=("count",), right=("count",), out=out)
        for name, n in report.by(key)[:top]:
            table.add_row(untrusted(name), str(n))
        table.print()
    # the age and marker are never cut; the place, author and text wrap, and under 100 columns
    # the author is left out (the place names the file)
    table = Grid(
        "age (days)", "marker", "where", "author", "text",
        keys=("age (days)", "marker"), right=("age (days)",), optional=("author",),
        title="oldest", out=out,
    )  # fmt: skip
    for i in report.oldest(top):
        table.add_row(
            _age(i.age_days),
            untrusted(i.marker),
            untrusted(f"{i.path}:{i.line}"),
            untrusted(i.who),
            untrusted(i.text[:60]),
        )
    table.print()
