"""Fuzzed condition parser: any string parses or raises ConditionSyntaxError (one line, with a
column inside the text), never hangs; generated valid conditions re-parse from their own text
and evaluate against arbitrary facts without raising."""

from __future__ import annotations

import json
import threading
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from prodshield.conditions import (
    PLACEHOLDERS,
    Condition,
    ConditionSyntaxError,
    Facts,
    evaluate,
    parse_condition,
)
from support.fuzz import FUZZ

TOKENS = st.sampled_from(
    [
        "[STATUS]",
        "[BODY]",
        "[BODY].a",
        "[BODY].a[0]",
        "[HEADER].x",
        "[RESPONSE_TIME]",
        "[CONNECTED]",
        "[",
        "]",
        ".",
        "(",
        ")",
        ",",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "len(",
        "has(",
        "pat(",
        "any(",
        "'",
        '"',
        " ",
        "200",
        "14d",
        "true",
        "*",
        "[0]",
        "[-1]",
        "\\",
    ]
)


def parse_or_error(text: str) -> Condition | None:
    try:
        return parse_condition(text)
    except ConditionSyntaxError as exc:
        message = str(exc)
        assert message and "\n" not in message.replace(repr(text), "")
        assert 1 <= exc.column <= max(1, len(text) + 1), (exc.column, text)
        return None


def parses_quickly(text: str) -> Condition | None:
    """Parse in a thread with a generous bound: a hang is a failure, not a stuck CI job."""
    result: list[Condition | None] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(parse_or_error(text))
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), f"parse_condition hung on {text!r}"
    if errors:
        raise errors[0]
    return result[0]


@FUZZ
@given(st.text(max_size=200))
@example("[BODY]" + "[0]" * 5000)
@example("any(" * 3000)
@example("[STATUS] == " + "'" * 1000)
def test_arbitrary_strings(text: str) -> None:
    parses_quickly(text)


@FUZZ
@given(st.lists(TOKENS, max_size=30).map("".join))
def test_token_soup(text: str) -> None:
    parses_quickly(text)


NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6).map(str), st.sampled_from(["1.5", "0", "14d", "2h", "300ms"])
)


@st.composite
def valid_condition(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(PLACEHOLDERS)))
    kind = PLACEHOLDERS[name]
    if kind == "bool":
        return f"[{name}] {draw(st.sampled_from(['==', '!=']))} {draw(st.sampled_from(['true', 'false']))}"
    if kind in ("number", "ms"):
        value = draw(NUMBERS) if kind == "ms" else draw(st.integers(0, 999).map(str))
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        return f"[{name}] {op} {value}"
    left = f"[{name}]"
    if name in ("BODY", "ANSWERS", "RESULT"):
        keys = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), max_size=3))
        left += "".join(f".{k}" for k in keys)
    elif name == "HEADER":
        left += "." + draw(st.from_regex(r"[a-z][a-z0-9\-]{0,10}", fullmatch=True))
    right = draw(
        st.one_of(
            st.from_regex(r"[A-Za-z0-9_ ]{1,12}", fullmatch=True).filter(lambda s: s.strip()),
            st.sampled_from(["pat(*ok*)", "any(a, b)", "'quoted'"]),
        )
    )
    if draw(st.booleans()) and name in ("BODY", "ANSWERS", "RESULT", "HEADER"):
        return f"len({left}) {draw(st.sampled_from(['==', '<', '>=']))} {draw(st.integers(0, 9))}"
    return f"{left} {draw(st.sampled_from(['==', '!=']))} {right}"


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    body = draw(
        st.one_of(
            JSONISH.map(json.dumps),
            st.binary(max_size=50),
            st.text(max_size=50),
            JSONISH,
        )
    )
    values: dict[str, Any] = {
        name: draw(
            st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=10), st.booleans())
        )
        for name in PLACEHOLDERS
    }
    values["BODY"] = body
    values["HEADER"] = draw(
        st.one_of(
            st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
            st.none(),
            st.text(max_size=5),
        )
    )
    values["ANSWERS"] = draw(JSONISH)
    values["RESULT"] = draw(JSONISH)
    return Facts(values)


@FUZZ
@given(valid_condition(), facts())
def test_valid_conditions_round_trip_and_evaluate(text: str, observed: Facts) -> None:
    cond = parse_condition(text)
    again = parse_condition(f"{cond.left} {cond.op} {cond.right}")
    assert (again.left, again.op, again.right) == (cond.left, cond.op, cond.right)
    outcome = evaluate(cond, observed)
    assert isinstance(outcome.ok, bool)
    assert outcome.describe()
