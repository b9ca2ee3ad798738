"""Fuzzed config loader: any text either loads or raises ConfigError with one located line per
problem; never another exception."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from prodshield.cli.config_checks import capability_validators
from prodshield.config import parse_config
from prodshield.errors import ConfigError
from support.fuzz import FUZZ

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "src" / "prodshield" / "config" / "example.yaml"
).read_text(encoding="utf-8")
EXAMPLE_LINES = EXAMPLE.splitlines()
PROBLEM = re.compile(r"^shield\.yaml:\d+:\d+: \S.*$")
ENV: dict[str, str] = {}

YAML_BITS = st.sampled_from(
    [
        ":",
        "- ",
        "  ",
        "\t",
        "{",
        "}",
        "[",
        "]",
        "&a ",
        "*a",
        "!!python/object ",
        "<<: *a",
        "---",
        "...",
        "'",
        '"',
        "#",
        "|",
        ">",
        "${X}",
        "${X:-y}",
        "?",
        "%YAML 1.2",
        "null",
        "~",
        "1e999",
        "-0",
        "0x1F",
        "yes",
        "2026-11-25",
        "\x00",
        "\ufeff",
        "é",
        "\r\n",
    ]
)


def check(text: str) -> None:
    # with the capabilities' load-time checks, which also judge the parts of an invalid file
    # that validated
    try:
        parse_config(text, env=ENV, validators=capability_validators())
    except ConfigError as exc:
        assert exc.problems, "ConfigError without problems"
        assert len(set(exc.problems)) == len(exc.problems), exc.problems
        for line in exc.problems:
            assert "\n" not in line, line
            assert PROBLEM.match(line), line


@FUZZ
@given(st.text(max_size=400))
@example("a: &a [*a]")
@example("[" * 2000)
@example("{a: " * 500)
@example("checks:\n  - name: x\n    conditions: ['[STATUS] == ' ]")
def test_arbitrary_text(text: str) -> None:
    check(text)


@FUZZ
@given(st.lists(st.one_of(YAML_BITS, st.text(max_size=8)), max_size=40).map("".join))
def test_yamlish_soup(text: str) -> None:
    check(text)


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    lines = list(EXAMPLE_LINES)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "dup", "replace_value", "indent", "insert", "cut"]))
        line = lines[i]
        if op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "replace_value" and ":" in line:
            key = line.split(":", 1)[0]
            value = draw(st.one_of(YAML_BITS, st.text(max_size=12), st.integers().map(str)))
            lines[i] = f"{key}: {value}"
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["", " ", "   ", "\t"])) + line.lstrip()
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=30)))
        else:
            lines[i] = line[: draw(st.integers(0, len(line)))]
        if not lines:
            break
    return "\n".join(lines)


@FUZZ
@given(mutated_example())
def test_mutated_example(text: str) -> None:
    check(text)


def test_example_itself_loads() -> None:
    parse_config(EXAMPLE, env={"SLACK_WEBHOOK_URL": "https://hooks.example/x", **ENV})


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe\x00garbage", b"[" * 3000, b"checks:\n  - name: [\n", b"storage: 5\nchecks: 7\n"],
    ids=["not-utf8", "deep", "syntax", "schema"],
)
def test_cli_config_check_never_tracebacks(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "shield.yaml"
    path.write_bytes(raw)
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "config", "check", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == 2, out
    assert "shield.yaml" in out


# Regressions found by the fuzzer: each raised something other than a one-line ConfigError.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 3000, "shield.yaml:1:1: invalid YAML: nested too deeply"),
        ("a: &a [*a]", "shield.yaml:1:4: invalid YAML: a recursive alias"),
        ("ok: 1\nb: \x1f", "shield.yaml:2:4: invalid YAML: unacceptable character #x001f"),
    ],
)
def test_found_by_fuzzing(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env=ENV)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith(expected), info.value.problems


def test_check_with_undefined_environment_and_a_variable() -> None:
    # Found by the mutated-example fuzzer: a check that names an environment that is not defined
    # and uses a {var} crashed the monitor validator with KeyError instead of reporting it.
    text = (
        "environments:\n  production:\n    vars: {base_url: 'https://example.com'}\n"
        "checks:\n  - name: web\n    type: http\n    url: '{base_url}/'\n"
        "    environments: [production, staging]\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, env=ENV)
    assert any(
        p.startswith("shield.yaml:8:") and "unknown environment 'staging'" in p
        for p in info.value.problems
    ), info.value.problems
