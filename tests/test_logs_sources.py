"""Reading sources: compression, globs, directories, bad bytes, over-long lines."""

from __future__ import annotations

import bz2
import gzip
import lzma
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
def test_compressed_files_read_transparently(tmp_path: Path, suffix: str, compress) -> None:
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
    assert "1 over-long line(s) cut" in stats.summary()
