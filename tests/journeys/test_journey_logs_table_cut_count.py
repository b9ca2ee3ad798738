"""A user scans a log whose error line is one 1 MB word. The table cut the message twice (to its
stored length, then the word to the column's width) and the note counted only the first cut:
32 A's shown at 80 columns, `[999,743 more characters]`. The note now counts what the table
leaves out of the line as logged: the A's shown plus the note's number are the line's 1,000,000.

Through `prodshield logs scan` as a subprocess on a real file, at 80 and 200 columns.
"""

from __future__ import annotations

import re
from pathlib import Path

from support.cli import prodshield, shell_env

NOTE = re.compile(r"\[(\d{1,3}(?:,\d{3})*) more characters\]")


def test_table_note_counts_every_cut(tmp_path: Path) -> None:
    (tmp_path / "hostile.log").write_text(
        "2026-12-07 10:32:00,000 - shop - ERROR - " + "A" * 1_000_000 + "\n"
    )
    for columns in ("80", "200"):
        env = shell_env(drop=("PRODSHIELD_",), COLUMNS=columns, NO_COLOR="1")
        run = prodshield(tmp_path, "logs", "scan", "hostile.log", "--no-store", env=env)
        assert run.returncode in (0, 1), run.stderr
        lines = run.stdout.splitlines()
        (at,) = [i for i, line in enumerate(lines) if NOTE.search(line)]
        # the message's A's: the run ending in "…" on the line before the note, in its column
        shown = re.search(r"(A+)…", lines[at - 1])
        assert shown is not None, lines[at - 1]
        note = NOTE.search(lines[at])
        assert note is not None
        assert len(shown.group(1)) + int(note.group(1).replace(",", "")) == 1_000_000, (
            columns,
            lines[at - 1 : at + 1],
        )
