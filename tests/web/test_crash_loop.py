"""The crash loop, shortened for CI: SIGKILL `prodshield serve` repeatedly while it checks,
follows a log and notifies; then kill `db upgrade` mid-migration. Nothing acknowledged may be lost
and nothing may be sent twice (see tests/support/crash_harness.py; the full loop is benchmarks/crashloop.py).
"""

from __future__ import annotations

from pathlib import Path

from support.crash_harness import run_crash_loop


def test_serve_survives_repeated_sigkill(tmp_path: Path) -> None:
    report = run_crash_loop(tmp_path, kills=8, migration_kills=3, seed=7)
    assert report.ok, report.problems
    assert report.kills == 8 and report.migrations_ok == 3
    # the loop exercised what it audits
    assert report.lines_written > 500 and report.critical_written > 50
    assert report.incidents >= 1 and report.issues >= 1 and report.outbox_rows >= 1
