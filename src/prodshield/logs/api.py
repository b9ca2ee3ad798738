"""The log library's public entry points, used by the CLI, the service and the tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from prodshield.logs.event import LogEvent
from prodshield.logs.formats.base import LogFormat, Record
from prodshield.logs.formats.registry import FORMATS, detect_format, get_format
from prodshield.logs.sources.files import ReadStats, expand_paths, read_line_blocks, read_lines
from prodshield.logs.templates import MinerConfig, Template, TemplateMiner

DETECT_LINES = 50
MAX_RECORD_LINES = 2000
"""A multi-line record stops growing here (a runaway traceback cannot eat memory)."""


def resolve_format(log_format: str, first_lines: list[str]) -> LogFormat:
    if log_format == "auto":
        return detect_format(first_lines)
    return get_format(log_format)


def parse_lines(
    lines: Iterable[str],
    source: str = "-",
    log_format: str | LogFormat = "auto",
    *,
    stats: ReadStats | None = None,
    first_line: int = 1,
) -> Iterator[LogEvent]:
    """Events from decoded lines; multi-line records are joined into one event."""
    stats = stats if stats is not None else ReadStats()
    iterator = iter(lines)
    head: list[str] = []
    if isinstance(log_format, str):
        if log_format == "auto":
            for line in iterator:
                head.append(line)
                if len(head) >= DETECT_LINES:
                    break
        fmt = resolve_format(log_format, head)
    else:
        fmt = log_format

    def all_lines() -> Iterator[str]:
        yield from head
        yield from iterator

    record: Record | None = None
    start = first_line
    raw: list[str] = []
    extra: list[str] = []
    parse = fmt.parse
    multiline = fmt.multiline
    number = first_line - 1
    for line in all_lines():
        number += 1
        rec = parse(line) if line else None
        if rec is not None and not rec.continuation:
            if record is not None:
                yield _event(fmt, record, extra, source, start, raw, stats)
            record, start, raw, extra = rec, number, [line], []
        elif record is not None and (multiline or (rec is not None and rec.continuation)):
            if len(extra) < MAX_RECORD_LINES:
                extra.append(rec.message if rec is not None else line)
                raw.append(line)
        elif line:
            # a line the format does not recognise: kept as a raw event, not dropped
            if record is not None:
                yield _event(fmt, record, extra, source, start, raw, stats)
                record = None
            if multiline:
                record, start, raw, extra = Record(message=line), number, [line], []
            else:
                stats.events += 1
                yield LogEvent(source, number, None, None, line, {"unparsed": True}, line)
    if record is not None:
        yield _event(fmt, record, extra, source, start, raw, stats)


def _event(
    fmt: LogFormat,
    record: Record,
    extra: list[str],
    source: str,
    line: int,
    raw: list[str],
    stats: ReadStats,
) -> LogEvent:
    fmt.finish(record, extra)
    stats.events += 1
    return LogEvent(
        source=source,
        line=line,
        timestamp=record.timestamp,
        level=record.level,
        message=record.message,
        fields=record.fields,
        raw="\n".join(raw),
    )


def parse_files(
    paths: Iterable[str | Path],
    log_format: str = "auto",
    *,
    stats: ReadStats | None = None,
) -> Iterator[LogEvent]:
    """Events from files, globs, directories or ``-`` (stdin); each source detected on its own."""
    stats = stats if stats is not None else ReadStats()
    if log_format != "auto":
        get_format(log_format)  # fail early on a bad name
    for path in expand_paths(paths, stats):
        yield from parse_lines(read_lines(path, stats), path, log_format, stats=stats)


def mine(events: Iterable[LogEvent], miner: TemplateMiner | None = None) -> Iterator[LogEvent]:
    """Annotate each event with its template; the miner learns as the events pass."""
    miner = miner if miner is not None else TemplateMiner()
    add = miner.add
    for event in events:
        ts = event.timestamp.timestamp() if event.timestamp is not None else None
        # the first line carries the template; a traceback's frames would make every one unique
        message = event.message
        cut = message.find("\n")
        match = add(message if cut < 0 else message[:cut], timestamp=ts)
        event.template_id = match.template_id
        event.template = match.template
        event.params = match.params
        yield event


BATCH = 200_000
"""Messages handed to :meth:`TemplateMiner.add_batch` at a time."""


def templates(
    paths: Iterable[str | Path],
    log_format: str = "auto",
    *,
    stats: ReadStats | None = None,
    miner: TemplateMiner | None = None,
) -> list[Template]:
    """Mine the templates of whole files; most frequent first.

    No per-line result is needed here, so messages are learnt in batches (lines of one shape are
    masked and placed once); ``raw`` sources skip building an event per line.
    """
    stats = stats if stats is not None else ReadStats()
    miner = miner if miner is not None else TemplateMiner()
    if log_format != "auto":
        get_format(log_format)
    for path in expand_paths(paths, stats):
        messages: list[str] = []
        times: list[float | None] = []
        timed = False
        for block, block_times in _message_blocks(path, log_format, stats):
            messages.extend(block)
            if block_times is not None:
                times.extend(block_times)
                timed = timed or any(t is not None for t in block_times)
            else:
                times.extend([None] * len(block))
            if len(messages) >= BATCH:
                miner.add_batch(messages, times if timed else None)
                messages, times, timed = [], [], False
        miner.add_batch(messages, times if timed else None)
    return miner.templates()


def _message_blocks(
    path: str, log_format: str, stats: ReadStats
) -> Iterator[tuple[list[str], list[float | None] | None]]:
    """The first line of each record's message (what :func:`mine` learns), with its time, a
    block at a time."""
    blocks = read_line_blocks(path, stats)
    head: list[str] = []
    if log_format == "auto":
        for block in blocks:
            head.extend(block)
            if len(head) >= DETECT_LINES:
                break
    fmt = resolve_format(log_format, head[:DETECT_LINES])
    if fmt.name != "raw":
        out: list[str] = []
        out_times: list[float | None] = []
        lines = _chain(head, (line for block in blocks for line in block))
        for event in parse_lines(lines, path, fmt, stats=stats):
            message = event.message
            cut = message.find("\n")
            out.append(message if cut < 0 else message[:cut])
            out_times.append(event.timestamp.timestamp() if event.timestamp is not None else None)
            if len(out) >= 4096:
                yield out, out_times
                out, out_times = [], []
        if out:
            yield out, out_times
        return
    # raw: a record is a line that does not continue the one above (see formats/raw.py); a
    # continuation line with nothing above starts a record
    started = False
    for block in _chain([head], blocks):
        if not started:
            kept: list[str] = []
            for line in block:
                if not line:
                    continue
                if started and (
                    (line[0] in " \t" and line.strip()) or line.startswith("Caused by: ")
                ):
                    continue
                started = True
                kept.append(line)
        else:
            kept = [
                line
                for line in block
                if line
                and not (line[0] in " \t" and line.strip())
                and not line.startswith("Caused by: ")
            ]
        stats.events += len(kept)
        yield kept, None


_T = TypeVar("_T")


def _chain(head: list[_T], rest: Iterable[_T]) -> Iterator[_T]:
    yield from head
    yield from rest


def format_names() -> list[str]:
    return ["auto", *FORMATS]


__all__ = [
    "LogEvent",
    "MinerConfig",
    "ReadStats",
    "Template",
    "TemplateMiner",
    "format_names",
    "mine",
    "parse_files",
    "parse_lines",
    "templates",
]
