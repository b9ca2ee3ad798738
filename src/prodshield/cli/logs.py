"""``prodshield logs``: parse log files into events and mine their templates.

``app`` is the group; :mod:`prodshield.cli.main` mounts it and the commands of
:mod:`prodshield.cli.logs_intel` (scan, digest, mark-deploy) on it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prodshield.cli.common import (
    SHOWN_CHARS,
    ConfigOption,
    Grid,
    console,
    load,
    plural,
    print_json,
    store_for,
    untrusted,
)
from prodshield.cli.logs_parse import say_raw_fallbacks, write_events
from prodshield.errors import NotFound, ProdshieldError, UsageError
from prodshield.logs.api import templates as mine_templates
from prodshield.logs.formats.registry import FORMATS
from prodshield.logs.sources.files import ReadStats, require_paths
from prodshield.logs.templates import TemplateMiner
from prodshield.text import for_terminal, reclip

if TYPE_CHECKING:
    from prodshield.config.loader import LoadedConfig

app = typer.Typer(help="Log findings, digests, templates and parsing.", no_args_is_help=True)

FilesArg = Annotated[
    list[str], typer.Argument(help="Files, globs, directories, or - for stdin.", show_default=False)
]
FormatOption = Annotated[
    str,
    typer.Option(
        "--log-format",
        "-f",
        help="Log format: auto, " + ", ".join(FORMATS) + ".",
    ),
]


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


class Output(StrEnum):
    jsonl = "jsonl"


def _summary(stats: ReadStats) -> None:
    err = console(stderr=True)
    err.print(for_terminal(stats.summary()), markup=False)
    for line in stats.errors:  # a path may hold brackets: text, not console markup
        err.print(for_terminal(f"error: {line}"), markup=False)


def _check_format(log_format: str) -> None:
    if log_format != "auto" and log_format not in FORMATS:
        raise UsageError(f"unknown log format {log_format!r} (known: auto, {', '.join(FORMATS)})")


def _short_time(ts: float | None) -> str:
    """A table cell's time: month-day hour:minute in UTC (the JSON keeps the full ISO form)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%m-%d %H:%M") if ts is not None else "-"


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat() if ts is not None else None


TemplatesFilesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Files, globs, directories, or - for stdin. Default: logs.sources in shield.yaml.",
        show_default=False,
    ),
]


@app.command("templates")
def templates_cmd(
    files: TemplatesFilesArg = None,
    log_format: FormatOption = "auto",
    top: Annotated[int, typer.Option("--top", "-n", help="Show the N most frequent.")] = 20,
    fmt: Annotated[
        TableOrJson, typer.Option("--format", help="Output format.")
    ] = TableOrJson.table,
    save: Annotated[
        bool, typer.Option("--save", help="Resume from and save to the configured store.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Mine the templates of log files (FILES, or the configured logs.sources): template, count,
    first/last seen, an example."""
    _check_format(log_format)
    reads: list[tuple[list[str], Any]]  # files and the format (name or layout) they are read in
    if files:
        require_paths(files)  # a missing file or a glob matching nothing: exit 2, as `logs scan`
        # a config present adds its audit.secrets.rules to the redaction of templates and examples
        loaded = load(config) if save else _optional_config(config)
        # a file of a source with its own layout is read in it, as `logs scan FILE` reads it
        layouts = _named_layouts(loaded, files, log_format)
        reads = (
            [([f], layouts.get(f, log_format)) for f in files] if layouts else [(files, log_format)]
        )
    else:
        # no FILES: the existing files of logs.sources, each in its source's format or layout, as
        # `logs scan` and `logs digest` read them (the same error without a shield.yaml or sources)
        from prodshield.cli.logs_intel import configured_inputs

        inputs = configured_inputs(config, [], log_format)
        loaded = inputs.loaded
        files = [str(p) for p in inputs.paths]
        formats = {f.path: f.source.format for f in inputs.files}
        layouts = inputs.layouts or {}
        reads = [
            (
                [path],
                layouts.get(path)
                or (log_format if log_format != "auto" else formats.get(path, "auto")),
            )
            for path in files
        ]
    from prodshield.cli.logs_parse import say_raw_fallbacks

    for paths, each in reads:  # as `logs scan` and `logs parse` say it: once per file
        say_raw_fallbacks(paths, each if isinstance(each, str) else "layout")
    stats = ReadStats()
    store = store_for(loaded) if save and loaded is not None else None
    try:
        miner = TemplateMiner()
        if store is not None:
            from prodshield.logs.state import load_miner

            miner = load_miner(store)
        result = []
        for paths, each in reads:  # one miner: the last result holds every template
            result = mine_templates(paths, each, stats=stats, miner=miner)
        if store is not None:
            from prodshield.logs.state import save_miner

            save_miner(store, miner, source=",".join(files))
    finally:
        if store is not None:
            store.close()
    _summary(stats)
    if stats.errors and not stats.files:  # said before an empty table could read as "no logs"
        raise ProdshieldError("no log source could be read")
    shown = result[:top] if top > 0 else result
    if fmt is TableOrJson.json:
        data = [
            {
                "id": t.id,
                "template": t.template,
                "count": t.count,
                "first_seen": _iso(t.first_seen),
                "last_seen": _iso(t.last_seen),
                "example": t.example,
                "variants": t.variants,
            }
            for t in shown
        ]
        print_json({"templates": data, "total": len(result)})
    else:
        # the id (what `--save` and the dashboard name a template by), the count and the times
        # are never cut; the template wraps, cut past SHOWN_CHARS; under 120 columns the example is left out (the
        # template already shows the line's shape; `--format json` keeps it)
        table = Grid(
            "id",
            "count",
            "template",
            "first seen",
            "last seen",
            "example",
            keys=("id", "count", "first seen", "last seen"),
            whole=("id",),  # the id is what the API and JSON name: never cut, the text gives way
            right=("count",),
            optional=("example",),
            wide=120,
        )
        for t in shown:
            table.add_row(
                t.id,
                str(t.count),
                untrusted(reclip(t.template, SHOWN_CHARS)),
                _short_time(t.first_seen),
                _short_time(t.last_seen),
                untrusted(reclip(t.example, 120)),
            )
        table.print()
        console().print(f"{plural(len(result), 'template')}, {plural(stats.events, 'event')}")


@app.command("parse")
def parse_cmd(
    files: FilesArg,
    log_format: FormatOption = "auto",
    output: Annotated[Output, typer.Option("--output", "-o", help="Output format.")] = Output.jsonl,
    save: Annotated[
        bool,
        typer.Option("--save", help="Resume the miner from the configured store and save it."),
    ] = False,
    config: ConfigOption = None,
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact",
            help="Print messages, parameters and fields as they are, secrets included.",
        ),
    ] = False,
) -> None:
    """Parse log files into events, one JSON object per line on stdout.

    Files are labelled with the templates known once they are all read; stdin streams.
    Secrets in what is printed are masked (with shield.yaml's audit.secrets.rules when a config
    is present) unless --no-redact.
    """
    _check_format(log_format)
    # a config present adds its secret rules to the redaction, and reads a file of a source with
    # its own layout in it (as `logs scan FILE` does) unless --log-format names a format
    needless = no_redact and log_format != "auto"
    loaded = load(config) if save else None if needless else _optional_config(config)
    store = store_for(loaded) if save and loaded is not None else None
    layouts = _named_layouts(loaded, files, log_format)
    say_raw_fallbacks(files, log_format, layouts)
    try:
        miner = TemplateMiner()
        if store is not None:
            from prodshield.logs.state import load_miner

            miner = load_miner(store)
        stats = write_events(
            files,
            log_format,
            sys.stdout.buffer,
            miner,
            redact=not no_redact,
            layouts=layouts,
        )
        if store is not None:
            from prodshield.logs.state import save_miner

            save_miner(store, miner, source=",".join(files))
    except BrokenPipeError:  # `| head` closed the pipe: stop quietly
        sys.stderr.close()
        raise typer.Exit(0) from None
    finally:
        if store is not None:
            store.close()
    _summary(stats)
    if stats.errors and not stats.files:
        raise ProdshieldError("no log source could be read")


def _optional_config(config: Path | None) -> LoadedConfig | None:
    """The config when one is given or present (-c, $PRODSHIELD_CONFIG, ./shield.yaml): loading
    it adds its ``audit.secrets.rules`` to the redaction of what is printed."""
    from prodshield.config.loader import find_config

    if config is None:
        try:
            find_config(None)
        except NotFound:
            return None
    return load(config)


def _named_layouts(
    loaded: LoadedConfig | None, files: list[str], log_format: str
) -> dict[str, Any]:
    """The layouts of the FILES that are files of a source with its own ``log_format`` or
    ``apache_format`` (the lookup `logs scan` uses), by the path as given."""
    if loaded is None:
        return {}
    from prodshield.logs.sources.configured import named_files

    return named_files(loaded.config.logs, loaded.base_dir, files, log_format)[1]
