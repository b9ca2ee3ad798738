"""Reading log files: plain or compressed, globs and directories, stdin; bad bytes counted."""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import lzma
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from prodshield.text import plural

MAX_LINE = 1024 * 1024
"""Lines longer than this (bytes) are cut to it and counted."""
STDIN = "-"


@dataclass
class ReadStats:
    """What a read saw: lines read, and what was skipped, cut or repaired."""

    files: int = 0
    lines: int = 0
    bytes: int = 0
    events: int = 0
    cut: int = 0
    """Lines over :data:`MAX_LINE` bytes, cut to that length."""
    binary: int = 0
    """Lines skipped as binary garbage (NUL bytes or mostly control characters); each is read as
    :data:`SKIPPED_LINE`, so the lines after it keep their numbers."""
    invalid_utf8: int = 0
    """Lines with invalid UTF-8, decoded with replacement characters."""
    errors: list[str] = field(default_factory=list)
    """One line per source that could not be read."""
    stdin: bool = False
    """Standard input (``-``) was one of the sources read (counted in ``files``)."""

    def summary(self) -> str:
        named = self.files - self.stdin
        parts = [
            ("stdin" if not named else f"{plural(named, 'file')} and stdin")
            if self.stdin
            else plural(self.files, "file"),
            plural(self.lines, "line"),
            plural(self.events, "event"),
        ]
        parts.append(f"{self.bytes / 1e6:.1f} MB")
        if self.cut:
            parts.append(f"{plural(self.cut, 'over-long line')} cut")
        if self.binary:
            parts.append(f"{plural(self.binary, 'binary line')} skipped")
        if self.invalid_utf8:
            parts.append(f"{plural(self.invalid_utf8, 'line')} with invalid UTF-8 replaced")
        if self.errors:
            parts.append(f"{plural(len(self.errors), 'source')} unreadable")
        return "read " + ", ".join(parts)


def require_paths(paths: Iterable[str | Path]) -> None:
    """Refuse (a usage error, exit 2) a named file that does not exist or a glob that matches
    no file: ``logs scan``, ``digest`` and ``templates`` say so instead of reporting 0 events."""
    from prodshield.errors import NotFound

    for item in paths:
        text = str(item)
        if text == STDIN:
            continue
        if any(ch in text for ch in "*?["):
            if not any(os.path.isfile(m) for m in glob.iglob(text, recursive=True)):
                raise NotFound(f"{text}: no file matches")
        elif not os.path.exists(text):
            raise NotFound(f"{text}: no such file")


def expand_paths(paths: Iterable[str | Path], stats: ReadStats | None = None) -> list[str]:
    """Files named, matched by a glob, or found (recursively, sorted) under a directory."""
    out: list[str] = []
    for item in paths:
        text = str(item)
        if text == STDIN:
            out.append(STDIN)
            continue
        if any(ch in text for ch in "*?["):
            matches = sorted(glob.glob(text, recursive=True))
            found = [m for m in matches if os.path.isfile(m)]
            if not found and stats is not None:
                stats.errors.append(f"{text}: no file matches")
            out.extend(found)
        elif os.path.isdir(text):
            for root, dirs, files in os.walk(text):
                dirs.sort()
                out.extend(os.path.join(root, f) for f in sorted(files))
        else:
            out.append(text)
    return out


class _Skipped(str):
    __slots__ = ()


SKIPPED_LINE: str = _Skipped()
"""What the readers give for a binary line: an empty line that readers of events pass over (``is``
tells it from a real empty line), so the lines after it keep their numbers."""

_COMPRESSED = (".gz", ".bz2", ".xz", ".lzma", ".zst")


def open_binary(path: str) -> IO[bytes]:
    """A binary stream of the (decompressed) content; the suffix picks the codec."""
    if path == STDIN:
        return sys.stdin.buffer
    lower = path.lower()
    if lower.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if lower.endswith(".bz2"):
        return bz2.open(path, "rb")
    if lower.endswith((".xz", ".lzma")):
        return lzma.open(path, "rb")
    if lower.endswith(".zst"):
        import zstandard

        raw = open(path, "rb")  # noqa: SIM115 - closed with the reader
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader)
    return open(path, "rb")


CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]")
CONTROL_BYTES = bytes(b for b in range(32) if CONTROL.match(bytes([b])))
"""The bytes ``CONTROL`` matches: ``len(block.translate(None, CONTROL_BYTES)) == len(block)``
says a block holds none of them in a fifth of the time the pattern's search takes."""


def is_binary(data: bytes) -> bool:
    """NUL bytes, or more than a tenth of control characters (ESC and tabs are fine)."""
    if CONTROL.search(data) is None:
        return False
    if b"\x00" in data:
        return True
    return len(CONTROL.findall(data)) > max(4, len(data) // 10)


BLOCK = 256 * 1024
"""Bytes read at a time; a block of clean text is decoded and split in one go."""


def iter_lines(stream: IO[bytes], stats: ReadStats) -> Iterator[str]:
    """Decoded lines without their line ends; over-long, binary and invalid lines handled."""
    for block in iter_line_blocks(stream, stats):
        yield from block


def iter_line_blocks(stream: IO[bytes], stats: ReadStats) -> Iterator[list[str]]:
    """:func:`iter_lines` a block at a time.

    Whole blocks are decoded and split at once while they are clean (no control characters,
    valid UTF-8, no line near :data:`MAX_LINE`); a block that is not goes line by line.
    """
    read = stream.read
    pending = b""
    while True:
        block = read(BLOCK)
        if not block:
            break
        data = pending + block if pending else block
        cut = data.rfind(b"\n") + 1
        if not cut:
            if len(data) > MAX_LINE:  # one endless line: the careful reader takes it from here
                yield list(_lines_one_by_one(_chained(data, stream), stats))
                return
            pending = data
            continue
        complete, pending = data[:cut], data[cut:]
        text = _clean_text(complete)
        if text is None:
            yield list(_lines_one_by_one(io.BytesIO(complete).readline, stats))
            continue
        lines = text.split("\n")
        lines.pop()  # after the last newline
        if "\r" in text:
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        stats.bytes += len(complete)
        stats.lines += len(lines)
        yield lines
    if pending:
        yield list(_lines_one_by_one(io.BytesIO(pending).readline, stats))


def _clean_text(data: bytes) -> str | None:
    if len(data) > MAX_LINE or CONTROL.search(data) is not None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _chained(first: bytes, stream: IO[bytes]) -> Callable[[int], bytes]:
    """``readline`` over ``first`` and then the rest of ``stream``."""
    head = io.BytesIO(first)

    def readline(limit: int) -> bytes:
        line = head.readline(limit)
        if line.endswith(b"\n") or len(line) >= limit:
            return line
        return line + stream.readline(limit - len(line))

    return readline


def _lines_one_by_one(readline: Callable[[int], bytes], stats: ReadStats) -> Iterator[str]:
    """Decoded lines without their line ends; over-long, binary and invalid lines handled."""
    while True:
        data = readline(MAX_LINE + 1)
        if not data:
            return
        stats.bytes += len(data)
        if len(data) > MAX_LINE and not data.endswith(b"\n"):
            data = data[:MAX_LINE]
            stats.cut += 1
            while True:  # drop the rest of the long line
                more = readline(MAX_LINE)
                if not more:
                    break
                stats.bytes += len(more)
                if more.endswith(b"\n"):
                    break
        stats.lines += 1
        if data.endswith(b"\n"):
            data = data[:-1]
            if data.endswith(b"\r"):
                data = data[:-1]
        if is_binary(data):
            stats.binary += 1
            yield SKIPPED_LINE
            continue
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError:
            stats.invalid_utf8 += 1
            yield data.decode("utf-8", "replace")


def read_lines(path: str, stats: ReadStats) -> Iterator[str]:
    """The lines of one source; an unreadable source is recorded in ``stats.errors``."""
    for block in read_line_blocks(path, stats):
        yield from block


def _unreadable(path: str, exc: BaseException, stats: ReadStats, lines_before: int) -> None:
    """A source that failed while read: its error recorded, and when not one line of it could
    be decoded (``x.gz`` that is no gzip) it is no file read (``no log source could be read``,
    exit 3, when every source is so); a truncated archive's good lines count it as read."""
    stats.errors.append(f"{path}: {exc}")
    if stats.lines == lines_before:
        stats.files -= 1


def read_line_blocks(path: str, stats: ReadStats) -> Iterator[list[str]]:
    """:func:`read_lines` a block at a time.

    Plain files are read in blocks; stdin (whose lines should flow as they come) and compressed
    streams (whose last good lines must survive a truncated end) are read line by line.
    """
    try:
        stream = open_binary(path)
    except FileNotFoundError:  # as `logs scan`/`templates` say it (require_paths)
        stats.errors.append(f"{path}: no such file")
        return
    except OSError as exc:
        stats.errors.append(f"{path}: {exc.strerror or exc}")
        return
    stats.files += 1
    stats.stdin = stats.stdin or path == STDIN
    lines_before = stats.lines
    try:
        if path == STDIN or path.lower().endswith(_COMPRESSED):
            size = 1 if path == STDIN else 4096
            block: list[str] = []
            for line in _lines_one_by_one(stream.readline, stats):
                block.append(line)
                if len(block) >= size:
                    yield block
                    block = []
            if block:
                yield block
        else:
            yield from iter_line_blocks(stream, stats)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        _unreadable(path, exc, stats, lines_before)
    except Exception as exc:  # zstandard.ZstdError and other codec errors
        if type(exc).__name__ != "ZstdError":
            raise
        _unreadable(path, exc, stats, lines_before)
    finally:
        if path != STDIN:
            stream.close()
