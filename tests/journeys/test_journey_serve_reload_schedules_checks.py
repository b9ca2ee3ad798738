"""Journey (newcomer trial, major 2): `serve` printed `reloaded shield.yaml: 2 checks` after a
check w2 was added and SIGHUP sent, but w2 never ran (`monitor status`: `w2 - unknown never run`
a minute later) until a restart. Now a reload schedules the checks added, stops the ones removed
and applies a changed interval."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

from support.cli import prodshield, wide_env
from support.net import answering, http_server
from support.serve import read_bound, read_until, start_serve


def _runs(db: Path, check: str) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM check_results WHERE check_name = ?", (check,))
        return int(row.fetchone()[0])


def _wait(what: str, predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout  # a bound for a loaded machine, not a timing
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _config(web: int, checks: dict[str, str]) -> str:
    lines = [
        f"  - {{name: {n}, type: http, url: 'http://127.0.0.1:{web}/', interval: {i}}}\n"
        for n, i in checks.items()
    ]
    return "storage: sqlite:///store.db\nchecks:\n" + "".join(lines)


def test_sighup_schedules_added_checks_and_stops_removed_ones(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    db = tmp_path / "store.db"
    with http_server(answering(200)) as web:
        config.write_text(_config(web, {"w1": "1s"}))
        proc = start_serve(config, port=0, cwd=tmp_path)
        try:
            read_bound(proc)
            _wait("w1's first results", lambda: db.exists() and _runs(db, "w1") >= 2)

            config.write_text(_config(web, {"w1": "1h", "w2": "1s"}))
            proc.send_signal(signal.SIGHUP)
            read_until(proc, r"reloaded .*2 checks \(added w2; changed w1\)")
            _wait("w2 to run", lambda: _runs(db, "w2") >= 2)
            status = prodshield(tmp_path, "monitor", "status", env=wide_env())
            assert status.returncode == 0, status.stderr
            assert "never run" not in status.stdout, status.stdout
            # w1 now runs hourly: after its run at the reload, no more for a while
            time.sleep(1.5)
            settled = _runs(db, "w1")
            time.sleep(3)
            assert _runs(db, "w1") == settled

            config.write_text(_config(web, {"w1": "1h"}))
            proc.send_signal(signal.SIGHUP)
            read_until(proc, r"reloaded .*1 check \(removed w2\)")
            time.sleep(1.5)
            removed = _runs(db, "w2")
            time.sleep(3)
            assert _runs(db, "w2") == removed  # w2 is no longer scheduled
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0
