"""Journey: a line logged at FATAL is a ``fatal_error`` whatever format reads it.

``2024-03-12 10:15:32,118 FATAL shop.worker: ...`` read by the python format (the level is
read apart from the message) came out as ``error_logged`` (high, ``logged at critical: ...``),
the same line read as ``raw`` gave no finding at all, and a bare ``FATAL ...`` raw line was a
``fatal_error`` (critical): the kind depended on the format. Now the level decides, in the
python, raw, JSON and logfmt formats alike; PostgreSQL's ``FATAL:`` (one session ended) is
still what its text says (tests/journeys/test_journey_logs_rule_kinds.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli import prodshield

LINE = "2024-03-12 10:15:32,118 FATAL shop.worker: cannot continue, queue state corrupted\n"
FILES = {
    "python.log": ("python", LINE),
    "raw.log": ("raw", LINE),
    "auto.log": ("auto", LINE),
    "bare.log": ("raw", "FATAL cannot continue, queue state corrupted\n"),
    "app.json": (
        "auto",
        '{"time":"2024-03-12T10:15:32Z","level":"fatal","msg":"cannot continue, queue state corrupted"}\n',
    ),
    "app.logfmt": (
        "auto",
        'time=2024-03-12T10:15:32Z level=fatal msg="cannot continue, queue state corrupted"\n',
    ),
}


@pytest.mark.parametrize("name", list(FILES))
def test_fatal_is_one_kind_in_every_format(tmp_path: Path, name: str) -> None:
    fmt, text = FILES[name]
    (tmp_path / name).write_text(text)
    out = prodshield(
        tmp_path, "logs", "scan", name, "--log-format", fmt, "--format", "json", "--no-store"
    )
    assert out.returncode == 1, out.stderr  # a critical finding
    findings = json.loads(out.stdout)["findings"]
    assert [(f["kind"], f["severity"], f["count"], f["message"]) for f in findings] == [
        ("fatal_error", "critical", 1, "1 fatal error logged")
    ], findings
