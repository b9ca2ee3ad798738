"""The ``raw`` format's lean loop in ``parse_lines`` gives the events the general loop gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from prodshield.logs.api import _raw_block_records, _raw_records, parse_lines
from prodshield.logs.formats.base import Record
from prodshield.logs.formats.raw import RawFormat
from prodshield.logs.sources.files import SKIPPED_LINE, ReadStats


class _General(RawFormat):
    """The same format through the general loop (``parse`` overridden)."""

    def parse(self, line: str) -> Record | None:
        return super().parse(line)


def test_raw_events_are_those_of_the_general_loop() -> None:
    rng = random.Random(1)
    pool = ["hello 1", "  at foo.bar(X.java:1)", "\tat x", "Caused by: boom", "", "   ", "x y"]
    for _ in range(300):
        lines = [rng.choice(pool) for _ in range(rng.randrange(0, 30))]
        fast, slow = ReadStats(), ReadStats()
        got = [
            (e.line, e.message, e.raw, e.fields) for e in parse_lines(lines, "s", "raw", stats=fast)
        ]
        want = [
            (e.line, e.message, e.raw, e.fields)
            for e in parse_lines(lines, "s", _General(), stats=slow)
        ]
        assert got == want, lines
        assert fast.events == slow.events == len(got)


def test_parse_and_mine_give_a_file_the_same_ids(tmp_path: Path) -> None:
    """``logs parse`` (parse_jsonl) and ``logs scan``/the service (mine) learn in the same blocks:
    the ids of one file agree, and so do the final templates."""
    import orjson

    from prodshield.logs.api import mine, parse_files, parse_jsonl

    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta"]
    lines = [
        f"{rng.choice(['GET', 'PUT'])} /item/{i} by {rng.choice(words)} took {i % 97} ms"
        if i % 3
        else f"worker {rng.choice(words)}-{i % 7} finished {i} jobs"
        for i in range(40_000)
    ]
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parsed = [orjson.loads(x) for x in b"".join(parse_jsonl([str(path)], "raw")).splitlines()]
    mined = list(mine(parse_files([str(path)], "raw")))
    assert [r["template_id"] for r in parsed] == [e.template_id for e in mined]
    # mine() gives each block's view; by the last block both agree on the templates too
    assert parsed[-1]["template"] == mined[-1].template
    assert parsed[-1]["params"] == mined[-1].params


def test_parse_jsonl_objects_are_the_events_as_dicts(tmp_path: Path) -> None:
    """The raw path writes its JSON without building events: the same objects as to_dict()."""
    import orjson

    from prodshield.logs.api import mine, parse_files, parse_jsonl

    path = tmp_path / "app.log"
    path.write_text(
        'first "quoted" line 1\n  indented\n\nsecond é line 2\nCaused by: x\nthird 3\n',
        encoding="utf-8",
    )
    for fmt in ("raw", "auto"):
        got = [orjson.loads(x) for x in b"".join(parse_jsonl([str(path)], fmt)).splitlines()]
        want = [e.to_dict() for e in mine(parse_files([str(path)], fmt))]
        assert got == want
        assert list(got[0]) == list(want[0])  # the same key order


def test_raw_records_read_a_block_at_a_time_are_those_read_line_by_line() -> None:
    """``logs parse`` on a raw file takes a block of lines whole when no line in it continues
    another; records that run across blocks (a traceback cut by a read) come out the same."""
    rng = random.Random(2)
    pool = ["hello 1", "  at foo.bar(X.java:1)", "\tat x", "Caused by: boom", "", "   ", "x y"]
    for _ in range(300):
        clean = rng.random() < 0.5  # blocks mostly without continuations: the whole-block path
        lines = [
            f"line {i}" if clean and rng.random() < 0.9 else rng.choice(pool)
            for i in range(rng.randrange(0, 60))
        ]
        if rng.random() < 0.2:  # a binary line, skipped
            lines.insert(rng.randrange(len(lines) + 1), SKIPPED_LINE)
        blocks, at = [], 0
        while at < len(lines):
            size = rng.randrange(0, 12)
            blocks.append(lines[at : at + size])
            at += size
        by_block, by_line = ReadStats(), ReadStats()
        got = [
            (start, text, multiline)
            for starts, texts, multiline in _raw_block_records(blocks, by_block)
            for start, text in zip(starts, texts, strict=True)
        ]
        want = list(_raw_records(lines, 1, by_line))
        assert [(start, text) for start, text, _ in got] == want, blocks
        assert by_block.events == by_line.events == len(want)
        for _, texts, multiline in _raw_block_records(blocks, ReadStats()):
            assert multiline == any("\n" in text for text in texts), blocks


def test_a_stream_redacts_a_template_once_not_once_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamed ``logs parse`` (stdin) redacted each line's message once and then its template
    again, line after line (the same few templates over and over: about 14 % of its CPU on
    Loghub); a template is now redacted once per text, with the same output."""
    from prodshield.logs import shown
    from prodshield.logs.api import parse_jsonl

    log = tmp_path / "app.log"
    log.write_text(
        "".join(f"user {i} logged in from 10.0.0.{i % 200} password=pw{i}x\n" for i in range(1000))
    )
    before = b"".join(parse_jsonl([log], "raw", final=False))
    calls: list[str | None] = []
    real = shown.template

    def counted(text: str | None) -> str | None:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(shown, "template", counted)
    out = b"".join(parse_jsonl([log], "raw", final=False))
    assert out == before and out.count(b"\n") == 1000
    assert b"pw1x" not in out and b"password=***" in out
    assert len(calls) == len(set(calls)) <= 5, calls[:10]
