"""``prodshield logs scan``, ``logs digest`` and ``logs mark-deploy``: findings, the daily digest
and deploy markers (mounted in the ``logs`` group by :mod:`prodshield.cli.main`)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from prodshield.cli.common import (
    EXIT_FAILED,
    SHOWN_CHARS,
    ConfigOption,
    Grid,
    console,
    plural,
    print_json,
    untrusted,
    write_out,
)
from prodshield.cli.logs_parse import say_raw_fallbacks
from prodshield.config.types import write_duration
from prodshield.errors import NotFound, ProdshieldError, UsageError
from prodshield.logs.detectors import DetectorSettings
from prodshield.logs.digest import (
    build_digest,
    outside_note,
    render_html,
    render_json,
    render_markdown,
)
from prodshield.logs.findings import ScanResult, signal_word, where_words
from prodshield.logs.scan import check_window, parse_when, scan_files
from prodshield.text import for_terminal, reclip

SOURCE_CHARS = 60
"""Characters of a finding's source the table shows (a long path is cut at its start)."""


class ScanFormat(StrEnum):
    table = "table"
    json = "json"


class DigestFormat(StrEnum):
    markdown = "markdown"
    html = "html"
    json = "json"


app = typer.Typer()

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


FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Window start, absolute (2026-12-04 or 2026-12-04T10:00)."),
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Window end, absolute (like --from).")
]
NoStoreOpt = Annotated[
    bool,
    typer.Option(
        "--no-store",
        help="Do not record the findings (and the run) in shield.yaml's store: output only.",
    ),
]


@dataclass
class _Inputs:
    """What a scan reads: detector settings, the files and their format or layouts, and, when a
    shield.yaml was loaded, the config and the configured files among them (their sources name
    the service and environment stored with the findings)."""

    settings: DetectorSettings
    paths: list[Path]
    log_format: str
    layouts: dict[str, Any] | None = None
    loaded: Any = None
    files: list[Any] = field(default_factory=list)


def configured_inputs(config: Path | None, files: list[Path], log_format: str) -> _Inputs:
    """Detector settings (and user rules) from shield.yaml when there is one, and the files:
    those given, else the existing files of ``logs.sources`` with their layouts (and the
    sources' format when they all name the same one; otherwise each file is detected)."""
    from prodshield.cli.common import load
    from prodshield.logs.sources.configured import configured_files, named_files

    try:
        loaded = load(config)
    except NotFound:
        if config is not None or not files:
            raise
        return _Inputs(DetectorSettings(), files, log_format)
    settings = DetectorSettings.from_config(
        loaded.config.logs, secret_rules=loaded.config.audit.secrets.rules
    )
    if files:
        # a file that is one of a source's files keeps that source's layout string
        mine, chosen = named_files(loaded.config.logs, loaded.base_dir, files, log_format)
        return _Inputs(settings, files, log_format, chosen or None, loaded, mine)
    sources = loaded.config.logs.sources
    if not sources:
        raise UsageError(f"no FILES given and {loaded.path} has no logs.sources")
    found = [
        f for f in configured_files(loaded.config.logs, loaded.base_dir) if Path(f.path).is_file()
    ]
    if not found:
        where = ", ".join(f"{s.name}: {s.path}" for s in sources)
        raise UsageError(f"{loaded.path}: no log file found for logs.sources ({where})")
    layouts: dict[str, Any] = {}
    for f in found:
        try:
            layout = f.layout
        except ValueError as exc:
            raise UsageError(f"{loaded.path}: logs.sources {f.source.name}: {exc}") from None
        if not isinstance(layout, str):
            layouts[f.path] = layout
    formats = {f.source.format for f in found if f.path not in layouts}
    if log_format == "auto" and len(formats) == 1:
        log_format = formats.pop()
    return _Inputs(
        settings, [Path(f.path) for f in found], log_format, layouts or None, loaded, found
    )


def _record(inputs: _Inputs, result: ScanResult) -> None:
    """Store the run's findings (with their service and environment) in the configured store,
    through the log capability's writer, so `monitor once` attaches them to the incidents it
    opens; a store that refuses is one warning line, never the scan's failure."""
    if inputs.loaded is None:
        return
    from sqlalchemy.exc import SQLAlchemyError

    from prodshield.cli.common import store_for
    from prodshield.logs.record import record_scan

    try:
        with store_for(inputs.loaded) as store:
            record_scan(
                store,
                result.findings,
                inputs.files,
                read=len(inputs.paths),
                window=result.window,
            )
    except (ProdshieldError, SQLAlchemyError, OSError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        console(stderr=True).print(
            for_terminal(f"warning: findings not stored: {first}"), markup=False
        )


def run_scan(
    files: list[Path],
    log_format: str,
    since: str | None,
    baseline: str | None,
    settings: DetectorSettings,
    *,
    fast: bool = True,
) -> ScanResult:
    """Kept for callers of the old name: :func:`prodshield.logs.scan.scan_files`."""
    return scan_files(
        files, log_format, since=since, baseline=baseline, settings=settings, fast=fast
    )


def _window(start: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    begin = parse_when(start, "--from") if start else None
    end = parse_when(until, "--until") if until else None
    check_window(begin, end)  # an inverted window: one line, exit 2, before any work
    return begin, end


@app.command("scan")
def scan(
    files: Files = None,
    log_format: LogFormatOpt = "auto",
    since: SinceOpt = None,
    start: FromOpt = None,
    until: UntilOpt = None,
    baseline: BaselineOpt = None,
    fmt: Annotated[ScanFormat, typer.Option("--format")] = ScanFormat.table,
    no_store: NoStoreOpt = False,
    config: ConfigOption = None,
) -> None:
    """Find critical, security, performance and trend signals in log files (FILES, or the
    configured logs.sources). Rules under logs.rules in shield.yaml are applied too.

    Exit 1 when a critical finding exists (for CI), 0 otherwise, 2 on usage errors, 3 when no
    source could be read.
    """
    inputs = configured_inputs(config, list(files or []), log_format)
    begin, end = _window(start, until)
    result = scan_files(
        inputs.paths,
        inputs.log_format,
        since=since,
        baseline=baseline,
        settings=inputs.settings,
        start=begin,
        until=end,
        layouts=inputs.layouts,
    )
    say_raw_fallbacks(inputs.paths, inputs.log_format, inputs.layouts)
    say_unreadable(result)
    if not no_store:
        _record(inputs, result)
    if fmt is ScanFormat.json:
        print_json(result.to_dict())
    elif not result.findings:
        # an empty table frame reads like a rendering fault: say it in words, and how much was read
        lines = result.stats.get("lines", result.stats.get("events", 0))
        console().print(f"no findings ({plural(lines, 'line')} scanned)", markup=False)
        _summary(result)
    else:
        # the kind is never cut; the message wraps; under 100 columns the signal, the
        # source and the first-seen time are left out (the message names what matters). The
        # signal is the finding's category in words that do not read as a severity
        table = Grid(
            "signal",
            "kind",
            "severity",
            "count",
            "message",
            "source",
            "first seen",
            "last seen",
            keys=("kind", "severity", "count"),
            right=("count",),
            optional=("signal", "source", "first seen"),
            title="findings",
        )
        for f in result.findings:
            where = where_words(f.source) or str(f.source.get("file", ""))
            table.add_row(
                signal_word(f.category),
                f.kind,
                f.severity,
                str(f.count),
                untrusted(reclip(f.message or "", SHOWN_CHARS)),
                untrusted(_shown_source(where, any(k != "file" for k in f.source))),
                f.first_seen.strftime("%m-%d %H:%M") if f.first_seen else "-",
                f.last_seen.strftime("%m-%d %H:%M") if f.last_seen else "-",
            )
        table.print()
        _summary(result)
    if result.has_critical:
        raise typer.Exit(EXIT_FAILED)


def say_unreadable(result: ScanResult) -> None:
    """One stderr line per source that could not be read (why); when none could, the scan
    stops there: ``error: no log source could be read``, exit 3 (a CI gate on a corrupt archive
    must not pass on "no findings")."""
    unreadable = [str(line) for line in result.stats.get("unreadable") or []]
    if unreadable and result.stats.get("files") == 0:  # one line: none could, and why
        raise ProdshieldError(f"no log source could be read: {'; '.join(unreadable)}")
    for line in unreadable:  # a path, an OS or codec error: text, not console markup
        sys.stderr.write(for_terminal(f"error: {line}") + "\n")


def _shown_source(where: str, pairs: bool) -> str:
    """At most ``SOURCE_CHARS`` of a finding's source, cut with a visible mark: ``key=value``
    pairs keep their start, a file path its end (the file's name)."""
    if len(where) <= SOURCE_CHARS:
        return where
    return where[: SOURCE_CHARS - 1] + "\u2026" if pairs else "\u2026" + where[1 - SOURCE_CHARS :]


def _summary(result: ScanResult) -> None:
    """The scan's one summary line on stderr (counts, time, what the read cut or skipped)."""
    s = result.stats
    sys.stderr.write(
        f"{plural(s.get('events', 0), 'event')}, {plural(s.get('templates', 0), 'template')}, "
        f"{plural(len(result.findings), 'finding')} in {s.get('seconds', 0)} s"
        f"{read_notes(s)}{outside_note(s)}\n"
    )


def read_notes(stats: dict[str, Any]) -> str:
    """What the read cut, skipped or repaired (``logs parse``'s words), each when it happened."""
    notes = []
    if stats.get("cut"):
        notes.append(f"{plural(stats['cut'], 'over-long line')} cut")
    if stats.get("binary"):
        notes.append(f"{plural(stats['binary'], 'binary line')} skipped")
    if stats.get("invalid_utf8"):
        notes.append(f"{plural(stats['invalid_utf8'], 'line')} with invalid UTF-8 replaced")
    if stats.get("skipped"):
        notes.append(f"{plural(stats['skipped'], 'line')} not in the access-log format skipped")
    if stats.get("unreadable"):
        notes.append(f"{plural(len(stats['unreadable']), 'source')} unreadable")
    return "".join(f", {n}" for n in notes)


@app.command("digest")
def digest(
    files: Files = None,
    log_format: LogFormatOpt = "auto",
    since: SinceOpt = "24h",
    start: FromOpt = None,
    until: UntilOpt = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="A baseline file, or a period before the window (default: shield.yaml's "
            "logs.baseline, 7d).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[DigestFormat, typer.Option("--format")] = DigestFormat.markdown,
    post: Annotated[
        str | None,
        typer.Option(
            "--post",
            help="Also send it through this notifier: its name in shield.yaml, or a type "
            "(github, slack...) when one notifier has it.",
        ),
    ] = None,
    debt_repo: Annotated[
        Path | None,
        typer.Option("--debt", help="Include the technical-debt delta of this repository."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")
    ] = None,
    no_store: NoStoreOpt = False,
    config: ConfigOption = None,
) -> None:
    """The daily digest: critical alerts, security, performance, new and spiking templates, debt.

    FILES, or the configured logs.sources; --from/--until replace the default --since 24h.

    The digest is a report: it exits 0 whatever it finds, critical findings included (use
    `logs scan` as a gate: it exits 1 on a critical finding); 2 on usage errors, 3 when no
    source could be read."""
    if post:  # a notifier that cannot be found is said before any work
        from prodshield.cli.common import load

        loaded = load(config)
        post = post_target(loaded.config.notifiers, post, str(loaded.path))
    inputs = configured_inputs(config, list(files or []), log_format)
    if baseline is None:
        period = inputs.loaded.config.logs.baseline if inputs.loaded is not None else 7 * 86400.0
        baseline = write_duration(period)
    begin, end = _window(start, until)
    result = scan_files(
        inputs.paths,
        inputs.log_format,
        since=None if (begin or end) else since,
        # a baseline period sits before the window's start: with --until alone there is none
        baseline=None
        if (end and not begin and baseline and not Path(baseline).exists())
        else baseline,
        settings=inputs.settings,
        start=begin,
        until=end,
        layouts=inputs.layouts,
    )
    say_raw_fallbacks(inputs.paths, inputs.log_format, inputs.layouts)
    say_unreadable(result)
    if not no_store:
        _record(inputs, result)
    debt = None
    if debt_repo is not None:
        debt = _debt_section(debt_repo, None if no_store else inputs.loaded)
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
        write_out(text)
    if post:
        _post(config, post, d)


DEBT_OLDEST = 5
"""The oldest markers the digest's debt section lists."""


def _debt_section(repo: Path, loaded: Any) -> dict[str, Any]:
    """The repository's debt for the digest: the total, the delta against the previous run kept
    in the store (``prodshield debt`` or an earlier digest; this run is kept for the next one) and
    the oldest markers."""
    from prodshield.logs.debt import diff_against, last_snapshot, save_snapshot, scan_repo

    report = scan_repo(repo)
    if loaded is not None:
        from prodshield.cli.common import store_for

        with store_for(loaded) as store:
            diff_against(report, last_snapshot(store, report.repo))
            save_snapshot(store, report)
    out = report.to_dict()
    out.pop("items", None)
    out["oldest"] = [
        {"path": i.path, "line": i.line, "marker": i.marker, "text": i.text[:200],
         "author": i.who, "age_days": i.age_days}
        for i in report.oldest(DEBT_OLDEST)
    ]  # fmt: skip
    return out


def post_target(notifiers: dict[str, Any], wanted: str, where: str) -> str:
    """The notifier ``--post`` names: a notifier of that name, else the only notifier of that
    type (``--post github`` with one ``type: github`` notifier, whatever its name); otherwise a
    one-line usage error naming what is configured."""
    if wanted in notifiers:
        return wanted
    of_type = sorted(name for name, n in notifiers.items() if getattr(n, "type", None) == wanted)
    if len(of_type) == 1:
        return of_type[0]
    if of_type:
        raise UsageError(
            f"--post {wanted}: {len(of_type)} notifiers of type {wanted} in {where} "
            f"({', '.join(of_type)}); name one"
        )
    known = ", ".join(f"{name} ({getattr(n, 'type', '?')})" for name, n in notifiers.items())
    raise UsageError(
        f"--post {wanted}: no notifier of that name or type in {where}"
        + (f" (configured: {known})" if known else " (it has no notifiers)")
    )


def _post(config: Path | None, notifier: str, d: Any) -> None:
    from prodshield.cli.common import load, store_for
    from prodshield.logs.digest import render_markdown as md
    from prodshield.notify import Event, deliver_pending, enqueue

    loaded = load(config)
    notifier = post_target(loaded.config.notifiers, notifier, str(loaded.path))
    store = store_for(loaded)
    try:
        day = d.generated_at.strftime("%Y-%m-%d")
        event = Event(
            key=f"digest:{day}",
            type="digest",
            # one thread: each day's digest replaces the one before (GitHub closes the old issue)
            subject="log-digest",
            title=f"Log digest {day}",
            body=md(d),
            severity="info",
            fields={"summary": d.summary()},
        )
        err = console(stderr=True)
        if not enqueue(store, [notifier], event):  # this day's digest was queued before
            from prodshield.notify.outbox import find

            earlier = find(store, notifier, event.key)
            if earlier is not None and earlier.status != "pending":
                err.print(for_terminal(repeated_line(notifier, day, earlier)), markup=False)
                return
        report = deliver_pending(store, loaded.config.notifiers, deadline_s=60)
        err.print(
            for_terminal(posted_line(notifier, event.key, report)), markup=False, soft_wrap=True
        )
    finally:
        store.close()


def repeated_line(notifier: str, day: str, earlier: Any) -> str:
    """A second digest of one day: the day's one post was made (or given up) by an earlier run."""
    if earlier.status == "sent":
        when = time.strftime("%H:%M UTC", time.gmtime(earlier.sent_at or earlier.created_at))
        return (
            f"digest not posted: {notifier} already has the digest of {day} (posted at {when}; "
            "one a day)"
        )
    return (
        f"digest not posted: the digest of {day} to {notifier} was given up earlier "
        f"(`prodshield notify retry {earlier.id}` tries it again)"
    )


def posted_line(notifier: str, key: str, report: Any) -> str:
    """What became of the digest's delivery, in words: posted, given up, or still queued."""
    mine = [o for o in report.outcomes if o.notifier == notifier and o.key == key]
    last = mine[-1] if mine else None
    if last is not None and last.status == "sent":
        return f"digest posted to {notifier}"
    why = f": {last.error}" if last is not None and last.error else ""
    if last is not None and last.status == "dead":
        return (
            f"digest not posted to {notifier}{why} (gave up after {plural(last.attempt, 'attempt')};"
            " `prodshield notify status` lists it, `prodshield notify retry ID` tries again)"
        )
    return (
        f"digest queued for {notifier}, not delivered yet{why} "
        "(`prodshield notify flush` or `serve` delivers it)"
    )


@app.command("mark-deploy")
def mark_deploy(
    label: Annotated[
        str | None, typer.Option("--label", help="What was deployed (a version, a commit).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Record a deploy: templates first seen after it are marked new on the dashboard and API."""
    from prodshield.cli.common import load, store_for
    from prodshield.logs.state import mark_deploy as mark

    store = store_for(load(config))
    try:
        marker = mark(store, label)
    finally:
        store.close()
    console(stderr=True).print(
        f"deploy marked at {datetime.fromtimestamp(marker['at']).isoformat(timespec='seconds')}"
        + (f" ({label})" if label else "")
    )
