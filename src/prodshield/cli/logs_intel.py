"""``prodshield logs scan`` and ``prodshield logs digest``: findings and the daily digest."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from prodshield.cli.common import EXIT_FAILED, ConfigOption, console, print_json
from prodshield.config import parse_duration
from prodshield.errors import UsageError
from prodshield.logs.detectors import DetectorSettings
from prodshield.logs.digest import build_digest, render_html, render_json, render_markdown
from prodshield.logs.scan import ScanResult, scan_events


class ScanFormat(StrEnum):
    table = "table"
    json = "json"


class DigestFormat(StrEnum):
    markdown = "markdown"
    html = "html"
    json = "json"


Files = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Log files, globs or folders ('-' for stdin). Default: logs.sources in shield.yaml.",
        show_default=False,
    ),
]
LogFormatOpt = Annotated[str, typer.Option("--log-format", help="Format name, or auto.")]
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Only the last period, e.g. 24h (relative to the newest line)."),
]
BaselineOpt = Annotated[
    str | None,
    typer.Option("--baseline", help="A baseline file, or a period before the window (7d)."),
]


def _settings(config: Path | None) -> DetectorSettings:
    from prodshield.config import load_config

    settings = DetectorSettings()
    try:
        loaded = load_config(config)
    except UsageError:
        if config is not None:
            raise
        return settings
    logs = loaded.config.logs
    settings.slow_query_ms = logs.slow_query_ms
    settings.slow_request_ms = logs.slow_request_ms
    settings.user_rules = [r.model_dump() for r in getattr(logs, "rules", [])]
    return settings


def _files_or_sources(
    files: list[Path] | None, log_format: str, config: Path | None
) -> tuple[list[Path], str]:
    """The FILES given, or else the existing files of shield.yaml's ``logs.sources`` (with the
    sources' format when they all name the same one; otherwise each file is detected)."""
    if files:
        return files, log_format
    from prodshield.config import load_config
    from prodshield.logs.sources.configured import configured_files

    loaded = load_config(config)
    sources = loaded.config.logs.sources
    if not sources:
        raise UsageError(f"no FILES given and {loaded.path} has no logs.sources")
    found = [
        f for f in configured_files(loaded.config.logs, loaded.base_dir) if Path(f.path).is_file()
    ]
    if not found:
        where = ", ".join(f"{s.name}: {s.path}" for s in sources)
        raise UsageError(f"{loaded.path}: no log file found for logs.sources ({where})")
    formats = {f.source.format for f in found}
    if log_format == "auto" and len(formats) == 1:
        log_format = formats.pop()
    return [Path(f.path) for f in found], log_format


def _newest_timestamp(files: list[Path], log_format: str) -> datetime | None:
    """The newest timestamp among the last lines of each file (the reference for --since)."""
    from prodshield.logs.pipeline import parse_tail

    newest = None
    for f in files:
        for ev in parse_tail(f, log_format=log_format):
            if ev.timestamp is not None and (
                newest is None or _naive(ev.timestamp) > _naive(newest)
            ):
                newest = ev.timestamp
    return newest


def _naive(ts: datetime) -> datetime:
    return ts.replace(tzinfo=None) if ts.tzinfo is None else ts.astimezone().replace(tzinfo=None)


def run_scan(
    files: list[Path],
    log_format: str,
    since: str | None,
    baseline: str | None,
    settings: DetectorSettings,
    *,
    fast: bool = True,
) -> ScanResult:
    """Parse, mine and detect; used by scan and digest."""
    from prodshield.logs.fastpath import access
    from prodshield.logs.pipeline import iter_events

    for f in files:
        if str(f) != "-" and not f.exists() and not any(ch in str(f) for ch in "*?["):
            raise UsageError(f"{f}: no such file")
    plain = [f for f in files if str(f) != "-"]
    if (
        fast
        and not since
        and not baseline
        and plain
        and len(plain) == len(files)
        and access.available()
        and log_format in ("auto", "nginx", "apache")
        and all(f.is_file() and access.is_access_log(f) for f in plain)
    ):
        return access.analyse(plain, settings)
    window_start = baseline_start = None
    baseline_events: Any = None
    if since:
        newest = _newest_timestamp(plain, log_format) if plain else None
        if newest is not None:
            window_start = newest - timedelta(seconds=parse_duration(since))
            if baseline and not Path(baseline).exists():
                baseline_start = window_start - timedelta(seconds=parse_duration(baseline))
    if baseline and Path(baseline).exists():
        baseline_events = iter_events([Path(baseline)], log_format=log_format)
    elif baseline and not since:
        raise UsageError(f"--baseline {baseline}: no such file (a period needs --since)")
    result = scan_events(
        iter_events(files, log_format=log_format),
        settings=settings,
        window_start=window_start,
        baseline_start=baseline_start,
        baseline_events=baseline_events,
    )
    return result


def scan(
    files: Files = None,
    log_format: LogFormatOpt = "auto",
    since: SinceOpt = None,
    baseline: BaselineOpt = None,
    fmt: Annotated[ScanFormat, typer.Option("--format")] = ScanFormat.table,
    config: ConfigOption = None,
) -> None:
    """Find critical, security, performance and trend signals in log files (default: the files
    of logs.sources in shield.yaml).

    Exit 1 when a critical finding exists (for CI), 0 otherwise, 2 on usage errors.
    """
    paths, log_format = _files_or_sources(files, log_format, config)
    result = run_scan(paths, log_format, since, baseline, _settings(config))
    if fmt is ScanFormat.json:
        print_json(result.to_dict())
    else:
        out = console()
        table = Table(
            "category",
            "kind",
            "severity",
            "count",
            "source",
            "first seen",
            "last seen",
            title="findings",
        )
        for f in result.findings:
            where = ", ".join(f"{k}={v}" for k, v in f.source.items() if k != "file") or str(
                f.source.get("file", "")
            )
            table.add_row(
                f.category,
                f.kind,
                f.severity,
                str(f.count),
                where[:60],
                f.first_seen.strftime("%m-%d %H:%M") if f.first_seen else "-",
                f.last_seen.strftime("%m-%d %H:%M") if f.last_seen else "-",
            )
        out.print(table)
        s = result.stats
        sys.stderr.write(
            f"{s.get('events', 0)} events, {s.get('templates', 0)} templates, "
            f"{len(result.findings)} findings in {s.get('seconds', 0)} s\n"
        )
    if result.has_critical:
        raise typer.Exit(EXIT_FAILED)


def digest(
    files: Files = None,
    log_format: LogFormatOpt = "auto",
    since: SinceOpt = "24h",
    baseline: BaselineOpt = "7d",
    fmt: Annotated[DigestFormat, typer.Option("--format")] = DigestFormat.markdown,
    post: Annotated[
        str | None, typer.Option("--post", help="Also send it through this notifier.")
    ] = None,
    debt_repo: Annotated[
        Path | None,
        typer.Option("--debt", help="Include the technical-debt delta of this repository."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """The daily digest: critical alerts, security, performance, new and spiking templates, debt.

    Without FILES it reads the files of logs.sources in shield.yaml."""
    settings = _settings(config)
    paths, log_format = _files_or_sources(files, log_format, config)
    result = run_scan(paths, log_format, since, baseline, settings)
    debt = None
    if debt_repo is not None:
        from prodshield.logs.debt import scan_repo

        debt = scan_repo(debt_repo).to_dict()
        debt.pop("items", None)
    d = build_digest(result, title="Log digest", debt=debt)
    text = {
        DigestFormat.markdown: render_markdown,
        DigestFormat.html: render_html,
        DigestFormat.json: render_json,
    }[fmt](d)
    if output:
        output.write_text(text, encoding="utf-8")
        console(stderr=True).print(f"wrote {output}")
    else:
        sys.stdout.write(text)
    if post:
        _post(config, post, d)


def _post(config: Path | None, notifier: str, d: Any) -> None:
    from prodshield.cli.common import load, store_for
    from prodshield.logs.digest import render_markdown as md
    from prodshield.notify import Event, deliver_pending, enqueue

    loaded = load(config)
    if notifier not in loaded.config.notifiers:
        raise UsageError(f"--post {notifier}: no such notifier in {loaded.path}")
    store = store_for(loaded)
    try:
        day = d.generated_at.strftime("%Y-%m-%d")
        event = Event(
            key=f"digest:{day}",
            type="digest",
            subject=f"digest:{day}",
            title=f"Log digest {day}",
            body=md(d),
            severity="info",
            fields={"summary": d.summary()},
        )
        enqueue(store, [notifier], event)
        report = deliver_pending(store, loaded.config.notifiers, deadline_s=60)
        console(stderr=True).print(f"digest posted to {notifier}: {report}")
    finally:
        store.close()


def attach(logs_app: typer.Typer) -> None:
    """Add scan and digest to the ``logs`` command group."""
    logs_app.command("scan")(scan)
    logs_app.command("digest")(digest)
