"""The log library's public entry points, used by the CLI, the service and the tests."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import orjson

from prodshield.logs.event import LogEvent
from prodshield.logs.formats.base import LogFormat, Record
from prodshield.logs.formats.raw import RawFormat
from prodshield.logs.formats.registry import FORMATS, detect_format, get_format
from prodshield.logs.sources.files import (
    SKIPPED_LINE,
    ReadStats,
    expand_paths,
    read_line_blocks,
    read_lines,
)
from prodshield.logs.templates import MinerConfig, Template, TemplateMiner
from prodshield.text import json_ready

DETECT_LINES = 50
MAX_RECORD_LINES = 2000
"""A multi-line record stops growing here (a runaway traceback cannot eat memory)."""


def resolve_format(log_format: str, first_lines: list[str]) -> LogFormat:
    if log_format == "auto":
        return detect_format(first_lines)
    return get_format(log_format)


def _format_of(log_format: str | LogFormat, lines: Iterator[str]) -> tuple[LogFormat, list[str]]:
    """The format to parse with, and the first lines read to detect it ("auto")."""
    return _format_of_blocks(log_format, ([line] for line in lines))


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
    fmt, head = _format_of(log_format, iterator)

    def all_lines() -> Iterator[str]:
        yield from head
        yield from iterator

    if isinstance(fmt, RawFormat) and type(fmt).parse is RawFormat.parse:
        yield from _raw_events(all_lines(), source, first_line, stats)
        return

    record: Record | None = None
    start = first_line
    raw: list[str] = []
    extra: list[str] = []
    parse = fmt.parse
    multiline = fmt.multiline
    number = first_line - 1
    for line in all_lines():
        number += 1
        if line is SKIPPED_LINE:
            continue
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


def _raw_events(
    lines: Iterable[str], source: str, first_line: int, stats: ReadStats
) -> Iterator[LogEvent]:
    """:func:`parse_lines` for the ``raw`` format, without a ``Record`` per line."""
    for start, text in _raw_records(lines, first_line, stats):
        yield LogEvent(source, start, None, None, text, {}, text)


def _raw_records(
    lines: Iterable[str], first_line: int, stats: ReadStats
) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each ``raw`` record: the events the general loop gives
    (indented and ``Caused by:`` lines, and blank lines, continue the record above)."""
    number = first_line - 1
    start = 0
    message: str | None = None
    raw: list[str] = []
    for line in lines:
        number += 1
        if not line:
            if line is SKIPPED_LINE:
                continue
            if message is not None and len(raw) <= MAX_RECORD_LINES:
                raw.append(line)
            continue
        if (line[0] in " \t" and line.strip()) or line.startswith("Caused by: "):
            if message is not None:
                if len(raw) <= MAX_RECORD_LINES:
                    raw.append(line)
                continue
        elif message is not None:
            stats.events += 1
            yield start, "\n".join(raw) if len(raw) > 1 else message
        message, start, raw = line, number, [line]
    if message is not None:
        stats.events += 1
        yield start, "\n".join(raw) if len(raw) > 1 else message


def is_plain_raw(fmt: Any) -> bool:
    """``fmt`` is the ``raw`` format itself (not a subclass parsing otherwise)."""
    return isinstance(fmt, RawFormat) and type(fmt).parse is RawFormat.parse


_CONTINUED = re.compile("\n(?:\n|[ \t]|Caused by: )")
"""A line after the first that continues a record (blank, indented or ``Caused by:``): one
search of the joined block (four ``in`` scans of it cost five times more)."""


def raw_columns(
    lines: list[str], first_line: int = 1, stats: ReadStats | None = None
) -> tuple[Sequence[int], list[str]]:
    """The ``raw`` records of a block of lines as two columns, (first line number, text) each:
    :func:`_raw_records`'s records, without a tuple per line. A block where no line continues
    another (no blank, indented or ``Caused by:`` line: nearly every block) is its own columns."""
    if not lines:
        return [], []
    head = lines[0]
    if (
        head
        and head[0] not in " \t"
        and not head.startswith("Caused by: ")
        and lines[-1]
        and _CONTINUED.search("\n".join(lines)) is None
    ):
        if stats is not None:
            stats.events += len(lines)
        return range(first_line, first_line + len(lines)), lines
    records = list(_raw_records(lines, first_line, stats if stats is not None else ReadStats()))
    return [start for start, _ in records], [text for _, text in records]


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
    layouts: Mapping[str, LogFormat] | None = None,
) -> Iterator[LogEvent]:
    """Events from files, globs, directories or ``-`` (stdin); each source detected on its own
    (a path in ``layouts`` read in its layout)."""
    stats = stats if stats is not None else ReadStats()
    if log_format != "auto":
        get_format(log_format)  # fail early on a bad name
    for path in expand_paths(paths, stats):
        fmt = layouts.get(path, log_format) if layouts else log_format
        yield from parse_lines(read_lines(path, stats), path, fmt, stats=stats)


MINE_BLOCK = 16_384
"""Events :func:`mine` and :func:`parse_jsonl` learn at once (the same blocks, so ``logs scan``
and ``logs parse`` give one file the same ids)."""


def mine(
    events: Iterable[LogEvent], miner: TemplateMiner | None = None, *, params: bool = True
) -> Iterator[LogEvent]:
    """Annotate each event with its template; the miner learns as the events pass.

    Events are learnt a block at a time (``MINE_BLOCK``, or what the iterable has: a follower's
    poll), so lines of one shape are masked once, and each event carries the template its cluster
    has once its block is learnt. The iterable should end (files, a poll's lines): a block waits
    until it is full or the iterable ends. Without ``params`` the events' ``params`` stay empty
    (the service's detectors never read them).
    """
    from prodshield.logs import shown

    miner = miner if miner is not None else TemplateMiner()
    iterator = iter(events)
    final = miner.final
    extractor = miner.extractor
    while True:
        block = list(islice(iterator, MINE_BLOCK))
        if not block:
            return
        # parameters are read from the first lines as printed (secrets masked), by the plan of
        # what the miner learnt of them (the same tokens)
        firsts, learnable = shown.learnable_many([_first_line(event.message) for event in block])
        times = [e.timestamp.timestamp() if e.timestamp is not None else None for e in block]
        learnt = miner.learn_many(
            learnable,
            times if any(t is not None for t in times) else None,
            redacted=True,
            examples=firsts,
        )
        known: dict[int, tuple[str, str, Any]] = {}
        for event, first, entry in zip(block, firsts, learnt, strict=True):
            got = known.get(id(entry))
            if got is None:
                entry = final(entry)
                extract = extractor(entry) if params else None
                got = known[id(entry)] = (entry.template_id, entry.template, extract)
            event.template_id, event.template, extract = got
            if extract is not None:
                event.params = extract(first)
            yield event


HOLD = MINE_BLOCK
"""Events ``parse_jsonl`` keeps in memory (besides the block being learnt) before it spills them
to a temporary file."""


def parse_jsonl(
    paths: Iterable[str | Path],
    log_format: str = "auto",
    *,
    stats: ReadStats | None = None,
    miner: TemplateMiner | None = None,
    final: bool = True,
    redact: bool = True,
    layouts: Mapping[str, LogFormat] | None = None,
) -> Iterator[bytes]:
    """``logs parse --output jsonl``: one JSON object per event (see :meth:`LogEvent.to_dict`),
    as chunks of UTF-8 lines.

    With ``final`` and only files to read (no ``-``), every event is given the template (and
    id) its cluster has once *all* the input is learnt: events wait, compactly, in memory and
    then in a temporary file, and come out at the end. Otherwise (stdin) each event is written as
    it is read, with the template as known at that moment (the id is the same either way).

    With ``redact`` (the default) messages, parameters, fields and templates are printed with
    their secrets masked (:mod:`prodshield.logs.shown`); the miner learns each line with its
    secrets as variables (``shown.learnable``), so no secret becomes template text.
    A path in ``layouts`` (a source's ``log_format``, compiled) is read in that layout.
    """
    names = [str(p) for p in paths]
    miner = miner if miner is not None else TemplateMiner()
    stats = stats if stats is not None else ReadStats()
    if not final or "-" in names:
        events = parse_files(names, log_format, stats=stats, layouts=layouts)
        yield from _stream_jsonl(events, miner, redact)
        return
    blocks = _event_blocks(names, log_format, stats, redact, HOLD, layouts)
    yield from _final_jsonl(blocks, miner, redact)


SHOW_BLOCK = 4096
"""Messages redacted at once (one prefilter pass over the block)."""


def _shown_events(
    events: Iterable[LogEvent], redact: bool
) -> Iterator[tuple[LogEvent, str, str | None]]:
    """(event with its message and fields as printed, its first line as learnt, the printed
    first line when redaction changed the message)."""
    if not redact:
        for event in events:
            yield event, _first_line(event.message), None
        return
    from prodshield.logs import shown

    iterator = iter(events)
    while block := list(islice(iterator, SHOW_BLOCK)):
        originals = [_first_line(event.message) for event in block]
        texts, changed = shown.messages([event.message for event in block])
        fields = shown.fields_many([event.fields for event in block])
        for event, first, text, was, kept in zip(
            block, originals, texts, changed, fields, strict=True
        ):
            event.message, event.fields = text, kept
            yield event, first, _first_line(text) if was else None


class _Columns:
    """Events as :func:`_final_jsonl` keeps them, a column per field.

    ``heads``: each event's JSON object up to the message (bytes), or for a ``raw`` event its
    line number (int); ``firsts``: the message's first line (what the miner learns); ``tails``:
    the JSON from ``fields`` on (bytes), or for a ``raw`` event the message as printed (str);
    ``times``: the event's time; ``shown``: the printed first line when redaction changed it
    (else None); ``prefixes``: for a ``raw`` event its source's JSON up to the line number (one
    shared object per source), else None. A raw event's text is held once (its first line and
    printed message are one string unless they differ) and written as JSON at the end.
    """

    __slots__ = ("firsts", "heads", "prefixes", "shown", "tails", "times")

    def __init__(self) -> None:
        self.heads: list[Any] = []
        self.firsts: list[str] = []
        self.tails: list[Any] = []
        self.times: list[float | None] = []
        self.shown: list[str | None] = []
        self.prefixes: list[bytes | None] = []

    def __len__(self) -> int:
        return len(self.firsts)

    def extend(self, other: _Columns) -> None:
        self.heads += other.heads
        self.firsts += other.firsts
        self.tails += other.tails
        self.times += other.times
        self.shown += other.shown
        self.prefixes += other.prefixes

    def take(self, n: int) -> _Columns:
        """The first ``n`` events, removed from these columns."""
        head = _Columns()
        for name in self.__slots__:
            column = getattr(self, name)
            setattr(head, name, column[:n])
            del column[:n]
        return head


def _event_blocks(
    paths: list[str],
    log_format: str,
    stats: ReadStats,
    redact: bool,
    size: int,
    layouts: Mapping[str, LogFormat] | None = None,
) -> Iterator[_Columns]:
    """The events of the files in blocks of ``size`` (the last one shorter; blocks run across
    files, as :func:`mine`'s do), as :func:`_final_jsonl` keeps them. ``raw`` sources skip
    building an event."""
    pending = _Columns()
    for columns in _source_columns(paths, log_format, stats, redact, layouts or {}):
        pending.extend(columns)
        while len(pending) >= size:
            yield pending.take(size)
    if len(pending):
        yield pending


def _source_columns(
    paths: list[str],
    log_format: str,
    stats: ReadStats,
    redact: bool,
    layouts: Mapping[str, LogFormat],
) -> Iterator[_Columns]:
    if log_format != "auto":
        get_format(log_format)  # fail early on a bad name
    for path in expand_paths(paths, stats):
        blocks = read_line_blocks(path, stats)
        fmt, head = _format_of_blocks(layouts.get(path, log_format), blocks)
        if isinstance(fmt, RawFormat) and type(fmt).parse is RawFormat.parse:
            prefix = b'{"source":' + _source_json(path) + b',"line":'
            if redact:
                from prodshield.secrets.redaction import redact_many
            for starts, texts, multiline in _raw_block_records(_chain([head], blocks), stats):
                columns = _Columns()
                columns.heads = starts
                # a text without a line break is its own first line (partition gives it back)
                columns.firsts = [text.partition("\n")[0] for text in texts] if multiline else texts
                n = len(texts)
                columns.times = [None] * n
                columns.prefixes = [prefix] * n
                if redact:
                    shown = redact_many(texts)
                    columns.tails = shown
                    columns.shown = [
                        None if printed is text or printed == text else _first_line(printed)
                        for text, printed in zip(texts, shown, strict=True)
                    ]
                else:
                    columns.tails = texts
                    columns.shown = [None] * n
                yield columns
            continue
        lines = (line for block in _chain([head], blocks) for line in block)
        events = parse_lines(lines, path, fmt, stats=stats)
        shown_events = _shown_events(events, redact)
        while block_events := list(islice(shown_events, SHOW_BLOCK)):
            columns = _Columns()
            for event, first, shown_first in block_events:
                event_head, tail = _head_tail(event)
                columns.heads.append(event_head)
                columns.firsts.append(first)
                columns.tails.append(tail)
                columns.times.append(
                    event.timestamp.timestamp() if event.timestamp is not None else None
                )
                columns.shown.append(shown_first)
                columns.prefixes.append(None)
            yield columns


def _format_of_blocks(
    log_format: str | LogFormat, blocks: Iterator[list[str]]
) -> tuple[LogFormat, list[str]]:
    """The format to parse with, and the lines read to detect it ("auto": whole blocks until
    there are enough)."""
    head: list[str] = []
    if not isinstance(log_format, str):
        return log_format, head
    if log_format == "auto":
        for block in blocks:
            head.extend(block)
            if len(head) >= DETECT_LINES:
                break
    return resolve_format(log_format, head[:DETECT_LINES]), head


def _continues(line: str) -> bool:
    """A non-empty line that continues the ``raw`` record above (see :func:`_raw_records`)."""
    return (line[0] in " \t" and bool(line.strip())) or line.startswith("Caused by: ")


def _raw_line_by_line(
    lines: list[str],
    number: int,
    message: str | None,
    start: int,
    raw: list[str],
    starts: list[int],
    texts: list[str],
) -> tuple[int, str | None, int, list[str], bool]:
    """:func:`_raw_records` over one block, from the state the block above left (lines before
    it, the record being read: its message, first line, lines): each record it ends appended to
    ``starts`` and ``texts``; the state after it, and whether a text spans lines."""
    multiline = False
    for line in lines:
        number += 1
        if not line:
            if line is SKIPPED_LINE:
                continue
            if message is not None and len(raw) <= MAX_RECORD_LINES:
                raw.append(line)
            continue
        if _continues(line):
            if message is not None:
                if len(raw) <= MAX_RECORD_LINES:
                    raw.append(line)
                continue
        elif message is not None:
            starts.append(start)
            if len(raw) > 1:
                multiline = True
                texts.append("\n".join(raw))
            else:
                texts.append(message)
        message, start, raw = line, number, [line]
    return number, message, start, raw, multiline


def _raw_block_records(
    blocks: Iterable[list[str]], stats: ReadStats
) -> Iterator[tuple[list[int], list[str], bool]]:
    """:func:`_raw_records` of a file's lines (numbered from 1) a block at a time, as columns:
    (first line numbers, texts, whether a text spans lines). A block where no line continues
    another, none is blank and the first continues nothing (nearly every one) is taken whole:
    each of its lines is a record, the last one held until the next block's first line says
    whether it goes on."""
    number = 0  # lines before this block
    start = 0
    message: str | None = None
    raw: list[str] = []
    for lines in blocks:
        n = len(lines)
        if not n:
            continue
        starts: list[int] = []
        texts: list[str] = []
        last = lines[-1]
        # every line starts with a character after the space (none is blank or indented: the
        # least line says it, in C) and none with "Caused by: "
        if (
            min(lines) >= "!"
            and not lines[0].startswith("Caused by: ")
            and "\nCaused by:" not in "\n".join(lines)
        ):
            multiline = len(raw) > 1
            if message is not None:
                starts.append(start)
                texts.append("\n".join(raw) if multiline else message)
            starts.extend(range(number + 1, number + n))
            texts.extend(lines[: n - 1])
            number += n
            message, start, raw = last, number, [last]
        else:  # line by line, as _raw_records
            number, message, start, raw, multiline = _raw_line_by_line(
                lines, number, message, start, raw, starts, texts
            )
        if texts:
            stats.events += len(texts)
            yield starts, texts, multiline
    if message is not None:
        stats.events += 1
        yield [start], ["\n".join(raw) if len(raw) > 1 else message], len(raw) > 1


def _first_line(message: str) -> str:
    # the first line carries the template; a traceback's frames would make every one unique
    cut = message.find("\n")
    return message if cut < 0 else message[:cut]


_NO_FIELDS = b',"fields":{}}\n'
_RAW_MIDDLE = b',"timestamp":null,"level":null,"message":'


def _source_json(path: str) -> bytes:
    """``path`` as the JSON value of ``source``; a name that is not UTF-8 (orjson refuses its
    lone surrogate) as U+FFFD and its exact bytes in ``source_uri`` after it (`json_ready`)."""
    try:
        return orjson.dumps(path)
    except orjson.JSONEncodeError:
        return orjson.dumps(json_ready({"source": path}))[len(b'{"source":') : -1]


def _head_tail(event: LogEvent) -> tuple[bytes, bytes]:
    """The event's JSON object before ``template_id`` (without ``}``) and from ``fields`` on."""
    head_data = {
        "source": event.source,
        "line": event.line,
        "timestamp": event.timestamp.isoformat() if event.timestamp else None,
        "level": event.level,
        "message": event.message,
    }
    try:
        head = orjson.dumps(head_data, default=str)[:-1]
    except orjson.JSONEncodeError:  # a file name that is not UTF-8: source_uri keeps it
        head = orjson.dumps(json_ready(head_data), default=str)[:-1]
    fields = event.fields
    if not fields:
        return head, _NO_FIELDS
    return head, b',"fields":' + orjson.dumps(fields, default=str) + b"}\n"


def _stream_jsonl(
    events: Iterable[LogEvent], miner: TemplateMiner, redact: bool = False
) -> Iterator[bytes]:
    from prodshield.logs import shown
    from prodshield.logs.params import params as params_of

    learn = miner.learn
    # a template as printed, redacted once per text (not once per line: most lines repeat
    # their template, and a line's own redaction is done above, once)
    shown_templates: dict[str, bytes] = {}
    shown_template = _shown_template if redact else _same
    for event in events:
        ts = event.timestamp.timestamp() if event.timestamp is not None else None
        if redact:  # each event goes out as it is read: no block to wait for
            ((event, first, shown_first),) = _shown_events((event,), redact)
        else:
            from prodshield.secrets.redaction import redact_text

            first = _first_line(event.message)
            shown_first = redact_text(first)
            shown_first = None if shown_first == first else shown_first
        if shown_first is None:
            entry, params = learn(first, ts, redacted=True)
        else:  # parameters as printed: read from the masked line by the template's plan
            learnable = shown.learnable(first, shown_first)
            entry, _ = learn(learnable, ts, redacted=True, example=shown_first)
            params = params_of(entry.plan, shown_first.split()) if entry.plan else []
        head, tail = _head_tail(event)
        template = shown_templates.get(entry.template)
        if template is None:
            if len(shown_templates) >= 4096:  # bounded whatever the lines hold
                shown_templates.clear()
            template = shown_templates[entry.template] = orjson.dumps(
                shown_template(entry.template)
            )
        yield (
            head
            + b',"template_id":'
            + orjson.dumps(entry.template_id)
            + b',"template":'
            + template
            + b',"params":'
            + orjson.dumps(params)
            + tail
        )


def _same(text: str) -> str:
    return text


def _redacted_firsts(firsts: list[str]) -> list[str | None]:
    """Each first line redacted, None where the pass changed nothing (``--no-redact``: the
    miner learns, and parameters are read from, the lines with their secrets masked)."""
    from prodshield.secrets.redaction import redact_many

    return [
        None if printed is first or printed == first else printed
        for first, printed in zip(firsts, redact_many(firsts), strict=True)
    ]


def _shown_template(text: str) -> str:
    from prodshield.logs import shown

    return shown.template(text) or text


def _final_jsonl(
    blocks: Iterable[_Columns],
    miner: TemplateMiner,
    redact: bool = False,
) -> Iterator[bytes]:
    import pickle
    import tempfile

    from prodshield.logs import shown

    index: dict[int, int] = {}  # id(entry) -> its number
    entries: list[Any] = []
    uses: Counter[int] = Counter()  # entry number -> its lines (a rare one is not compiled for)
    # a block waits as six columns: entry numbers, then those of _Columns
    _Held = tuple[list[int], list[Any], list[str], list[Any], list[str | None], list[bytes | None]]
    with tempfile.TemporaryFile(prefix="prodshield-parse-") as spill:
        spilled = 0
        pending: _Held | None = None
        for block in blocks:
            # a block of events is learnt at once (lines of one shape are masked once); the miner
            # learns each first line with its secrets as <*> (shown.learnable)
            times = block.times
            if not redact:  # the lines as printed are not redacted: the miner's are
                block.shown = _redacted_firsts(block.firsts)
            learnable = shown.learnable
            if block.shown.count(None) == len(block):  # redaction changed no line
                texts = examples = block.firsts
            else:
                texts = [
                    first if printed is None else learnable(first, printed)
                    for first, printed in zip(block.firsts, block.shown, strict=True)
                ]
                examples = [
                    first if printed is None else printed
                    for first, printed in zip(block.firsts, block.shown, strict=True)
                ]
            learnt = miner.learn_many(
                texts,
                times if any(t is not None for t in times) else None,
                redacted=True,
                examples=examples,
            )
            numbers: list[int] = []
            number_of = index.get
            for entry in learnt:
                number = number_of(id(entry))
                if number is None:
                    number = index[id(entry)] = len(entries)
                    entries.append(entry)
                numbers.append(number)
            uses.update(numbers)
            held = (numbers, block.heads, block.firsts, block.tails, block.shown, block.prefixes)
            if pending is not None:  # only blocks before the last one go to the file
                pickle.dump(pending, spill, protocol=pickle.HIGHEST_PROTOCOL)
                spilled += 1
            pending = held
        # every line is learnt: each entry's template as its cluster has it now
        done: list[tuple[bytes, Any] | None] = [None] * len(entries)
        final = miner.final
        dumps = orjson.dumps
        shown_template = _shown_template if redact else _same

        def lines(chunk: _Held) -> bytes:
            out: list[bytes] = []
            add = out.extend
            for number, head, first, tail, shown_first, prefix in zip(*chunk, strict=True):
                known = done[number]
                if known is None:
                    entry = final(entries[number])
                    middle = (
                        b',"template_id":'
                        + dumps(entry.template_id)
                        + b',"template":'
                        + dumps(shown_template(entry.template))
                        + b',"params":'
                    )
                    extract = miner.extractor(entry, uses[number])
                    # no parameters: the line's middle is the same every time
                    known = done[number] = (
                        (middle, extract) if extract is not None else (middle + b"[]", None)
                    )
                middle, extract = known
                if prefix is not None:  # a raw event: the source, the line number, the message
                    if extract is None:
                        add((prefix, b"%d" % head, _RAW_MIDDLE, dumps(tail), middle, _NO_FIELDS))
                    else:  # parameters read from the line as printed (secrets masked)
                        params = extract(first if shown_first is None else shown_first)
                        add(
                            (
                                prefix,
                                b"%d" % head,
                                _RAW_MIDDLE,
                                dumps(tail),
                                middle,
                                dumps(params),
                                _NO_FIELDS,
                            )
                        )
                elif extract is None:
                    add((head, middle, tail))
                else:
                    add(
                        (
                            head,
                            middle,
                            dumps(extract(first if shown_first is None else shown_first)),
                            tail,
                        )
                    )
            return b"".join(out)

        spill.seek(0)
        for _ in range(spilled):
            yield lines(pickle.load(spill))
        if pending is not None:
            yield lines(pending)


BATCH = 200_000
"""Messages handed to :meth:`TemplateMiner.add_batch` at a time."""


def templates(
    paths: Iterable[str | Path],
    log_format: str | LogFormat = "auto",
    *,
    stats: ReadStats | None = None,
    miner: TemplateMiner | None = None,
) -> list[Template]:
    """Mine the templates of whole files; most frequent first.

    No per-line result is needed here, so messages are learnt in batches (lines of one shape are
    masked and placed once); ``raw`` sources skip building an event per line. ``log_format`` is a
    format's name, ``auto``, or a compiled layout (a source's ``log_format``).
    """
    stats = stats if stats is not None else ReadStats()
    miner = miner if miner is not None else TemplateMiner()
    if isinstance(log_format, str) and log_format != "auto":
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
    from prodshield.logs.findings import sealed_templates  # the redaction engine: not for parse

    return sealed_templates(miner.templates())


def _message_blocks(
    path: str, log_format: str | LogFormat, stats: ReadStats
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
    fmt = (
        resolve_format(log_format, head[:DETECT_LINES])
        if isinstance(log_format, str)
        else log_format
    )
    if fmt.type != "raw":
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
    "parse_jsonl",
    "parse_lines",
    "templates",
]


RAW_FALLBACK = "no known layout: read as raw, no time or level; set format: in shield.yaml"


def raw_fallback_note(path: str, *, cli: bool = True) -> str:
    """The one line that says ``path`` was read as raw because no format recognised it."""
    return f"{path}: {RAW_FALLBACK}" + (" or --log-format" if cli else "")


def raw_fallbacks(
    paths: Iterable[str | Path], log_format: str = "auto", layouts: Mapping[str, Any] | None = None
) -> list[str]:
    """The files among ``paths`` that auto-detection reads as ``raw`` (no time, no level): only
    with ``log_format`` "auto", for a file with no layout of its own; stdin is never pre-read."""
    if log_format != "auto":
        return []
    found: list[str] = []
    for item in paths:
        name = str(item)
        if name == "-" or (layouts and name in layouts):
            continue
        for path in expand_paths([name]):
            lines = read_lines(str(path), ReadStats())
            try:
                head = [line for line in islice(lines, DETECT_LINES) if line is not SKIPPED_LINE]
            finally:
                lines.close()  # type: ignore[attr-defined]
            if head and detect_format(head).type == "raw":
                found.append(str(path))
    return found
