"""Journey: one incident of 23.83 s said "lasted 23s" on the status page (`status build`) and
24s in `incident show`, `incident list` and `monitor report`; every place now rounds with one
function and says 24s (CLI as a subprocess, the store it writes, the static status page)."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

from support.alerting import cli


def _one_incident(tmp_path: Path) -> None:
    """Incident #1 opened by `monitor once` and resolved by the next, 23.828 s apart."""
    target = socket.socket()
    target.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    port = target.getsockname()[1]
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "checks:\n"
        f"  - {{name: orders, type: tcp, host: 127.0.0.1, port: {port},"
        " failure_threshold: 1, success_threshold: 1}\n"
    )
    try:
        opened = cli(tmp_path, "monitor", "once")
        assert "incident #1 opened" in opened.stdout, opened.stdout + opened.stderr
        target.listen(8)  # the same port now answers
        resolved = cli(tmp_path, "monitor", "once")
        assert "incident #1 resolved" in resolved.stdout, resolved.stdout + resolved.stderr
    finally:
        target.close()
    # The times newcomer4 saw: opened at .785, resolved at .613, 23.828 s later.
    start = float(int(time.time()) - 600) + 0.785
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute(
            "UPDATE incidents SET opened_at = ?, resolved_at = ? WHERE id = 1",
            (start, start + 23.828),
        )


def test_one_incident_lasts_as_long_everywhere(tmp_path: Path) -> None:
    _one_incident(tmp_path)
    shown = cli(tmp_path, "incident", "show", "1")
    assert "lasted   24s" in shown.stdout.splitlines(), shown.stdout
    listed = cli(tmp_path, "incident", "list", "--status", "all")
    row = next(line for line in listed.stdout.splitlines() if "#1" in line)
    assert " 24s " in row and "23s" not in row, listed.stdout
    report = cli(tmp_path, "monitor", "report", "--format", "markdown")
    assert "MTTR: 24s" in report.stdout and "23s" not in report.stdout, report.stdout

    built = cli(tmp_path, "status", "build", "--out", "site")
    assert built.returncode == 0, built.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    assert "lasted 24s" in page and "23s" not in page, page


def test_the_html_report_counts_one_incident_in_english(tmp_path: Path) -> None:
    """`monitor report --format html` said "MTTD 12s · MTTR 24s · 1 incidents"."""
    _one_incident(tmp_path)
    report = cli(tmp_path, "monitor", "report", "--format", "html")
    assert report.returncode == 0, report.stderr
    assert "MTTR 24s · 1 incident</p>" in report.stdout, report.stdout
    assert "1 incidents" not in report.stdout
