"""Hostile log files through the CLI (a subprocess, as a user runs it): blank lines, a JSON line
whose message is null or empty, invalid UTF-8, NUL bytes and terminal escapes are read, counted
and shown escaped; never an internal error.

Before the fix a file holding one blank line, or ``{"msg": null}``, ended every one of
``logs parse``, ``scan``, ``digest`` and ``templates`` with
``internal error: IndexError: tuple index out of range`` (the template miner's empty message).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HOSTILE = (
    b"2026-12-06 05:00:00 ERROR connection refused\n"
    b"\n"
    b"   \n"
    b'{"ts": "nan", "msg": null}\n'
    b'{"msg": ""}\n'
    b"2026-12-06 05:00:01 ERROR bad \xff\xfe bytes\x00and NUL\n"
    b"2026-12-06 05:00:02 ERROR \x1b]0;title\x07\x1b[2Jcleared \x1b[31mred\n"
)


@pytest.mark.parametrize("command", ["parse", "scan", "digest", "templates"])
def test_blank_empty_and_binary_lines_are_read(tmp_path: Path, command: str) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(HOSTILE)
    (tmp_path / "blank.log").write_bytes(b"\n\n \n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "prodshield",
            "logs",
            command,
            str(log),
            str(tmp_path / "blank.log"),
        ],
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode in (0, 1), out.decode(errors="replace")[-2000:]
    assert b"internal error" not in out and b"Traceback" not in out
    # what the lines hold is shown, but never a raw escape that the terminal would obey
    assert b"\x1b" not in out and b"\x07" not in out
