"""Journey: after a binary line, `logs scan` and `logs parse` still name the right line.

A block of binary garbage in a log (a crash, a disk error) is skipped and counted, but it was
skipped before the lines were numbered, so every line after it was named one line early:
`logs scan` said a leaked password was at `app.log:2` while it sat on line 3, and `logs parse`
gave its event `"line": 2`. Someone opening the file at that line found the wrong one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli import prodshield

RAW = b"service started\n\x00\x01\x02 garbage \x00\nlogin ok password=hunter22x for bob\n"
PYTHON = (
    b"2026-12-06 10:00:00,000 INFO app: service started\n"
    b"\x00\x01\x02 garbage \x00\n"
    b"\x00\x01\x02 more garbage \x00\n"
    b"2026-12-06 10:00:01,000 ERROR app: login failed password=hunter22x for bob\n"
)


@pytest.mark.parametrize(
    ("body", "fmt", "line"), [(RAW, "raw", 3), (PYTHON, "python", 4)], ids=["raw", "python"]
)
def test_lines_after_a_binary_line_keep_their_numbers(
    tmp_path: Path, body: bytes, fmt: str, line: int
) -> None:
    (tmp_path / "app.log").write_bytes(body)

    parse = prodshield(tmp_path, "logs", "parse", "app.log", "--log-format", fmt)
    assert parse.returncode == 0, parse.stderr
    events = [json.loads(x) for x in parse.stdout.splitlines()]
    assert [e["line"] for e in events] == [1, line], events
    assert events[0]["message"].endswith("service started"), events[0]
    assert "binary line" in parse.stderr

    scan = prodshield(
        tmp_path, "logs", "scan", "app.log", "--log-format", fmt, "--format", "json", "--no-store"
    )
    assert scan.returncode in (0, 1), scan.stderr
    (leak,) = [f for f in json.loads(scan.stdout)["findings"] if f["kind"] == "secret_in_log"]
    assert f"app.log:{line}" in leak["message"], leak["message"]
    assert f"app.log:{line - 1}" not in leak["message"], leak["message"]
