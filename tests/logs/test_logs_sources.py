"""Reading sources: compression, globs, directories, bad bytes, over-long lines."""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from prodshield.logs.api import parse_files
from prodshield.logs.sources.files import MAX_LINE, ReadStats

LINES = [f"2024-03-12 10:15:{i:02d},000 - app - INFO - request {i} done" for i in range(20)]
TEXT = ("\n".join(LINES) + "\n").encode()


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        ("", lambda b: b),
        (".gz", gzip.compress),
        (".bz2", bz2.compress),
        (".xz", lzma.compress),
        (".zst", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_compressed_files_read_transparently(
    tmp_path: Path, suffix: str, compress: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / f"app.log{suffix}"
    path.write_bytes(compress(TEXT))
    stats = ReadStats()
    events = list(parse_files([path], stats=stats))
    assert [e.message for e in events] == [f"request {i} done" for i in range(20)]
    assert stats.lines == 20 and stats.files == 1 and stats.errors == []


def test_globs_directories_and_missing(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.log").write_bytes(TEXT)
    (tmp_path / "d" / "sub" / "b.log").write_bytes(TEXT)
    stats = ReadStats()
    events = list(
        parse_files([tmp_path / "d", str(tmp_path / "d" / "*.log"), tmp_path / "nope"], stats=stats)
    )
    assert len(events) == 60 and stats.files == 3
    assert len(stats.errors) == 1 and "nope" in stats.errors[0]


def test_bad_bytes_long_lines_and_binary_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "mixed.log"
    path.write_bytes(
        b"first line caf\xe9 ok\n"
        + b"x" * (MAX_LINE + 5000)
        + b"\n"
        + b"\x00\x01\x02\x03binary\x00garbage\x07\x08\n"
        + b"last line\n"
    )
    stats = ReadStats()
    events = list(parse_files([path], "raw", stats=stats))
    assert [len(e.message) for e in events][1] == MAX_LINE
    assert events[0].message == "first line caf\ufffd ok"
    assert events[-1].message == "last line"
    assert stats.invalid_utf8 == 1 and stats.cut == 1 and stats.binary == 1
    assert len(events) == 3
    assert "1 over-long line cut" in stats.summary()


def test_block_reading_gives_the_lines_and_counts_of_line_by_line_reading(tmp_path: Path) -> None:
    """Clean blocks are split at once; blocks with bad bytes fall back to careful reading. Both
    must agree line for line, across block boundaries, CRLF endings and a missing last newline."""
    import io

    from prodshield.logs.sources.files import BLOCK, _lines_one_by_one, iter_lines

    parts: list[bytes] = []
    for i in range(40_000):
        parts.append(f"line {i} {'x' * (i % 37)}".encode() + (b"\r\n" if i % 5 == 0 else b"\n"))
        if i == 9_000:
            parts.append(b"bad \xff\xfe utf-8\n")
        if i == 20_000:
            parts.append(b"\x00\x01\x02\x03\x04\x05 binary\n")
        if i == 30_000:
            parts.append(b"y" * (MAX_LINE + 10) + b"\n")
    parts.append(b"last line without newline")
    data = b"".join(parts)
    assert len(data) > 4 * BLOCK
    (tmp_path / "mixed.log").write_bytes(data)

    fast_stats, slow_stats = ReadStats(), ReadStats()
    with (tmp_path / "mixed.log").open("rb") as fh:
        fast = list(iter_lines(fh, fast_stats))
    slow = list(_lines_one_by_one(io.BytesIO(data).readline, slow_stats))
    assert fast == slow
    assert fast_stats == slow_stats
    assert fast_stats.lines == 40_004 and fast_stats.bytes == len(data)
    assert (fast_stats.invalid_utf8, fast_stats.binary, fast_stats.cut) == (1, 1, 1)
    assert fast[0] == "line 0 " and fast[-1] == "last line without newline"
