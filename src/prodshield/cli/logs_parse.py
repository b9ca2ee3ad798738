"""``prodshield logs parse``: the work, and a lean entry for the common case.

Scripts run ``logs parse`` once per file, so its start-up counts: the entry point dispatches
``prodshield logs parse FILES [-f FORMAT] [-o jsonl]`` here without importing the other command
groups (typer, rich, pydantic, the store); ``--save``, ``--config`` and ``--help`` go through the
full CLI (:func:`prodshield.cli.logs.parse_cmd`), which calls :func:`write_events` too, and so
does a run with a config present ($PRODSHIELD_CONFIG or ./shield.yaml): its
``audit.secrets.rules`` join the redaction of what is printed.

Text from log lines is printed with its secrets masked unless ``--no-redact``; whatever JSON can
escape that a terminal would act on (DEL, C1 controls, bidirectional overrides) is escaped.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

if TYPE_CHECKING:
    from collections.abc import Mapping

    from prodshield.logs.sources.files import ReadStats
    from prodshield.logs.templates import TemplateMiner

EXIT_USAGE = 2
EXIT_ERROR = 3
LEAN_FLAGS = frozenset({"-f", "--log-format", "-o", "--output", "--no-redact"})

# Characters orjson writes as they are that a terminal may act on: DEL, C1 controls (U+0080 to
# U+009F, CSI among them) and bidirectional overrides/isolates, as UTF-8 bytes. Only found inside
# JSON strings, so their \uXXXX escape is the same JSON.
_TERMINAL_UNSAFE = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


_LEADS = (b"\x7f", b"\xc2", b"\xe2")
"""The first bytes of what :data:`_TERMINAL_UNSAFE` matches."""


def _escape(match: re.Match[bytes]) -> bytes:
    return b"\\u%04x" % ord(match.group(0).decode())


def terminal_safe(chunk: bytes) -> bytes:
    """JSON lines with every character a terminal could act on written as its escape.

    The lead bytes are found with ``bytes.find`` (memchr) and the pattern tried only there: a
    regular expression scanning a chunk of megabytes for one "…" cost more than the JSON."""
    starts: list[int] = []
    for lead in _LEADS:
        at = chunk.find(lead)
        while at != -1:
            starts.append(at)
            at = chunk.find(lead, at + 1)
    if not starts:
        return chunk
    starts.sort()
    parts: list[bytes] = []
    done = 0
    for at in starts:
        found = _TERMINAL_UNSAFE.match(chunk, at)
        if found is not None:
            parts += (chunk[done:at], _escape(found))
            done = found.end()
    if not parts:
        return chunk
    parts.append(chunk[done:])
    return b"".join(parts)


def write_events(
    files: list[str],
    log_format: str,
    out: BinaryIO,
    miner: TemplateMiner | None = None,
    *,
    redact: bool = True,
    layouts: Mapping[str, Any] | None = None,
) -> ReadStats:
    """Parse ``files`` and write one JSON line per event to ``out`` (see ``parse_jsonl``;
    ``layouts``: a compiled layout by the path of a file given, read in it)."""
    from prodshield.logs.api import parse_jsonl
    from prodshield.logs.sources.files import ReadStats

    stats = ReadStats()
    streaming = "-" in files
    chunks = parse_jsonl(
        files, log_format, stats=stats, miner=miner, redact=redact, layouts=layouts
    )
    with few_collections():
        for chunk in chunks:
            out.write(terminal_safe(chunk))
            if streaming:
                out.flush()
    out.flush()
    return stats


@contextmanager
def few_collections() -> Iterator[None]:
    """What was built before (start-up, the config) is frozen, never walked again, and the cyclic
    collector runs per 50,000 allocations instead of 700 (parsing allocates a few objects per
    line; benchmarks/logs_parse.py): the lean entry and the full CLI (a shield.yaml present,
    ``--save``, ``-c``) alike. Both are restored after."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def say_raw_fallbacks(
    files: list[Any], log_format: str, layouts: Mapping[str, Any] | None = None
) -> None:
    """One stderr line per file auto-detection reads as raw: its times and levels are not read,
    so ``--since`` and the level-based detectors would silently do nothing with it."""
    from prodshield.logs.api import raw_fallback_note, raw_fallbacks
    from prodshield.text import for_terminal

    for path in raw_fallbacks(files, log_format, layouts):
        sys.stderr.write(for_terminal(raw_fallback_note(path)) + "\n")
    sys.stderr.flush()


class _NotLean(Exception):
    """The arguments do not parse here: the full CLI says what is wrong, in its own words."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotLean(message)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="prodshield logs parse", add_help=False)
    parser.add_argument("files", nargs="+")
    parser.add_argument("-f", "--log-format", default="auto")
    parser.add_argument("-o", "--output", default="jsonl")
    parser.add_argument("--no-redact", action="store_true")
    return parser.parse_args(argv)


def lean(argv: list[str]) -> bool:
    """Whether ``logs parse`` with these arguments can take the lean entry: not when a config
    could add its secret rules to the redaction or its sources' layouts to the reading (without
    --log-format), nor when they do not parse (a missing FILE... is worded by the full CLI, as
    every other usage error is)."""
    for arg in argv:
        if arg.startswith("-") and arg != "-" and arg.split("=", 1)[0] not in LEAN_FLAGS:
            return False
    try:
        args = _parse(argv)
    except _NotLean:
        return False
    if os.environ.get("PRODSHIELD_CONFIG") or os.path.isfile("shield.yaml"):
        return bool(args.no_redact) and args.log_format != "auto"
    return True


def main(argv: list[str]) -> int:
    """``prodshield logs parse`` without the full CLI; returns the exit code."""
    from prodshield.logs.formats.registry import FORMATS

    try:
        args = _parse(argv)
    except _NotLean as exc:  # lean() said no: only a direct caller gets here
        sys.stderr.write(f"error: {exc} (see 'prodshield logs parse -h')\n")
        return EXIT_USAGE
    if args.log_format != "auto" and args.log_format not in FORMATS:
        known = ", ".join(FORMATS)
        sys.stderr.write(f"error: unknown log format {args.log_format!r} (known: auto, {known})\n")
        return EXIT_USAGE
    if args.output != "jsonl":
        sys.stderr.write(f"error: unknown output {args.output!r} (known: jsonl)\n")
        return EXIT_USAGE
    say_raw_fallbacks(args.files, args.log_format)
    try:
        stats = write_events(
            args.files, args.log_format, sys.stdout.buffer, redact=not args.no_redact
        )
    except BrokenPipeError:  # `| head` closed the pipe: stop quietly
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    from prodshield.text import for_terminal

    sys.stderr.write(for_terminal(stats.summary()) + "\n")
    for line in stats.errors:  # a file's name, an OS error
        sys.stderr.write(for_terminal(f"error: {line}") + "\n")
    if stats.errors and not stats.files:
        sys.stderr.write("error: no log source could be read\n")
        return EXIT_ERROR
    return 0
