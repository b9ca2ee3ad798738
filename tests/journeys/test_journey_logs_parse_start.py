"""`logs parse` starts lean however it is typed, and prints the same with or without a shield.yaml.

`python -m prodshield logs parse` went through the full CLI (typer, rich, pydantic) where the
console script took the lean entry; with a shield.yaml in the folder (the full CLI, to add its
secret rules) the command also imported the store (sqlalchemy) through a log detector's percentile
and parsed with the collector's default thresholds, 1.5x the CPU of the lean entry on 200k lines.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from support.cli import shell_env

LINES = [
    "2026-12-07 10:00:01 INFO user 42 logged in from 10.0.0.7",
    "2026-12-07 10:00:02 INFO user 43 logged in from 10.0.0.8",
    "2026-12-07 10:00:03 WARN disk \u2026 almost full: 91% on /var",
    "2026-12-07 10:00:04 ERROR bidi \u202e trick and a C1 \x9b control in a line",
    "2026-12-07 10:00:05 INFO user 44 logged in from 10.0.0.9",
]


def _parse(cwd: Path, log: Path) -> tuple[bytes, str]:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "prodshield", "logs", "parse", str(log)],
        cwd=cwd,
        env=shell_env(),
        capture_output=True,
        timeout=120,
        check=True,
    )
    return done.stdout, done.stderr.decode()


def _imported(importtime: str) -> set[str]:
    names = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_python_m_takes_the_lean_entry_and_prints_what_the_full_cli_prints(
    tmp_path: Path,
) -> None:
    log = tmp_path / "app.log"
    log.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    bare = tmp_path / "bare"
    bare.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    (project / "shield.yaml").write_text("logs:\n  sources: []\n", encoding="utf-8")

    lean_out, lean_err = _parse(bare, log)
    full_out, full_err = _parse(project, log)

    lean_modules, full_modules = _imported(lean_err), _imported(full_err)
    assert "typer" not in lean_modules and "pydantic" not in lean_modules
    assert "typer" in full_modules  # the config's secret rules need the full CLI
    # parsing without --save reads no store
    assert not {m for m in full_modules | lean_modules if m.split(".")[0] == "sqlalchemy"}

    assert lean_out == full_out
    rows = [json.loads(line) for line in lean_out.splitlines()]
    assert len(rows) == len(LINES)
    assert rows[0]["template_id"] == rows[1]["template_id"] == rows[4]["template_id"]
    # what a terminal would act on is escaped, a plain "…" is not
    assert b"\\u202e" in lean_out and b"\\u009b" in lean_out
    assert "\u2026".encode() in lean_out
    assert "\u202e".encode() not in lean_out and "\x9b".encode() not in lean_out
    assert "read 1 file, 5 lines" in lean_err and "read 1 file, 5 lines" in full_err
