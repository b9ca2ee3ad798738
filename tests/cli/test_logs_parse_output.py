"""`logs parse`'s output helpers: terminal escapes found by lead byte, the collector restored."""

from __future__ import annotations

import gc
import io
import random
from pathlib import Path

from prodshield.cli.logs_parse import (
    _TERMINAL_UNSAFE,
    _escape,
    few_collections,
    terminal_safe,
    write_events,
)


def _reference(chunk: bytes) -> bytes:
    return _TERMINAL_UNSAFE.sub(_escape, chunk)


def test_terminal_safe_escapes_exactly_what_the_pattern_matches() -> None:
    rng = random.Random(7)
    pieces = [
        b"a",
        b" ",
        b"\x7f",
        b"\xc2",
        b"\x85",
        b"\x9b",
        b"\xe2",
        b"\x80",
        b"\x81",
        b"\xa6",
        b"\xaa",
        b"\xae",
        b"\xa9",
        "\u2026".encode(),
        "\u202e".encode(),
        "\u2066".encode(),
        "\x9b".encode(),
        "é".encode(),
    ]
    for _ in range(5000):
        chunk = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))
        assert terminal_safe(chunk) == _reference(chunk), chunk
    plain = b'{"message":"nothing to escape"}\n' * 1000
    assert terminal_safe(plain) is plain


def test_few_collections_restores_the_collector() -> None:
    before = gc.get_threshold()
    with few_collections():
        assert gc.get_threshold()[0] == 50_000
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_write_events_restores_the_collector(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("x 1\nx 2\n", encoding="utf-8")
    before = gc.get_threshold()
    out = io.BytesIO()
    stats = write_events([str(log)], "raw", out)
    assert stats.events == 2 and out.getvalue().count(b"\n") == 2
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
