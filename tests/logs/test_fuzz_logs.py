"""Fuzzed log formats: every registered format's sniff/parse/finish, and parse_lines forced to
each format and to auto-detection, on arbitrary text, decoded binary junk and very long lines:
no exception, and never more events than non-empty lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodshield.logs.api import parse_lines
from prodshield.logs.formats.base import Record
from prodshield.logs.formats.registry import FORMATS
from prodshield.logs.templates import TemplateMiner
from support.fuzz import FUZZ

# Fragments of real log lines, so the parsers' deeper branches are reached, not only "no match".
FRAGMENTS = st.sampled_from(
    [
        '127.0.0.1 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "ua"',
        '{"ts": "2026-11-25T10:00:00Z", "level": "error", "msg": "x"}',
        '{"a":',
        "level=info msg=",
        'ts=2026-11-25T10:00:00Z level=warn msg="quoted',
        "2026-11-25 10:00:00,123 ERROR app: boom",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "ValueError: bad",
        "<34>1 2026-11-25T10:00:00Z host app 1 - - msg",
        "<13>Nov 25 10:00:00 h a:",
        "2026-11-25 10:00:00.123 UTC [42] ERROR:  duplicate key",
        "DETAIL:  Key (id)=(1)",
        "STATEMENT:  select",
        "# Time: 2026-11-25T10:00:00.000000Z",
        "# User@Host: root[root] @ [1]",
        "# Query_time: 1.5  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 9",
        "SET timestamp=1;",
        "[Wed Nov 25 10:00:00.000 2026] [core:error] [pid 1] msg",
        "__REALTIME_TIMESTAMP=1",
        "MESSAGE=hello",
        "PRIORITY=3",
        "\t",
        " ",
        "=",
        '"',
        "[",
        "]",
        "{",
        "}",
        ":",
        "\x00",
        "\ufffd",
        "é",
        "\u202e",
        "9" * 30,
        "-1",
        "1e309",
        "NaN",
        "2026-13-45T99:99:99Z",
    ]
)
LINE = st.one_of(
    st.text(max_size=120).map(lambda s: s.replace("\n", " ").replace("\r", " ")),
    st.lists(FRAGMENTS | st.text(max_size=6), max_size=8).map(" ".join),
    st.binary(max_size=120).map(lambda b: b.decode("utf-8", "replace").replace("\n", " ")),
    FRAGMENTS,
)
LINES = st.lists(LINE, max_size=25)
NAMES = sorted(FORMATS)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(lines=LINES)
def test_format_members(name: str, lines: list[str]) -> None:
    fmt = FORMATS[name]
    records: list[Record] = []
    for line in lines:
        assert isinstance(fmt.sniff(line), bool)
        rec = fmt.parse(line) if line else None
        if rec is not None:
            assert isinstance(rec.message, str)
            records.append(rec)
    for rec in records:
        fmt.finish(rec, lines[:3])
        assert isinstance(rec.message, str)


@pytest.mark.parametrize("name", ["auto", *NAMES])
@FUZZ
@given(lines=LINES)
def test_parse_lines(name: str, lines: list[str]) -> None:
    events = list(parse_lines(lines, "fuzz", name))
    assert len(events) <= sum(1 for line in lines if line)
    for event in events:
        assert isinstance(event.message, str)
        assert event.line >= 1


@pytest.mark.parametrize("name", ["auto", *NAMES])
def test_very_long_and_binary_lines(name: str) -> None:
    junk = bytes(range(256)).decode("utf-8", "replace") * 40
    lines = [
        "x" * 1_000_000,
        '{"msg": "' + "a" * 500_000 + '"}',
        "level=info " + "k=v " * 100_000,
        junk,
        "[" * 200_000,
        '"' * 200_000,
    ]
    events = list(parse_lines(lines, "fuzz", name))
    assert 1 <= len(events) <= len(lines)


# Regressions found by the fuzzer.
def test_deeply_nested_json_is_not_a_crash() -> None:
    # json.loads raised RecursionError from the journald and json formats
    for name in ("journald", "json"):
        if name in FORMATS:
            assert FORMATS[name].parse("[" * 100_000) is None
            events = list(parse_lines(["[" * 100_000], "f", name))
            assert len(events) == 1 and events[0].message.startswith("[[[")


def test_logfmt_long_word_is_linear() -> None:
    # the key pattern backtracked from every position of a long word: quadratic, minutes at 1 MB
    fmt = FORMATS["logfmt"]
    assert fmt.parse("x" * 2_000_000) is not None
    assert fmt.parse("level=info msg=hi") is not None
    rec = fmt.parse("level=info msg=hi")
    assert rec is not None and (rec.level, rec.message) == ("info", "hi")


@FUZZ
@given(lines=LINES)
def test_the_template_miner_learns_any_message(lines: list[str]) -> None:
    """Empty and blank messages included: a JSON line whose message is null, or a blank line,
    made ``logs parse``/``scan``/``digest``/``templates`` end in ``IndexError``."""
    one, many = TemplateMiner(), TemplateMiner()
    for line in ["", "   ", *lines, ""]:
        entry, _ = one.learn(line)
        assert one.final(entry).template_id
    got = many.learn_many(["", *lines, " "])
    assert len(got) == len(lines) + 2
