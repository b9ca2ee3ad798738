"""Journey: a cron job that fails POSTs its whole log to its heartbeat's exit-code URL
(``curl --data-binary @backup.log <url>/3``; docs/monitor.md: "A POST body sent with a signal is
kept as the run's output: its last 10 KB"). ``serve`` (a subprocess) keeps the log's last 10 KB
with the error at its end, whatever the log's size: an output over 40 KB was dropped whole
(nothing kept, the job's error lost)."""

from __future__ import annotations

import sqlite3
import urllib.request
from pathlib import Path

from support.serve_process import TOKEN, Served, serve, wait_for

LAST = "backup failed: /var/backups: No space left on device\n"


def _row(srv: Served) -> sqlite3.Row | None:
    with sqlite3.connect(srv.db, timeout=10) as db:
        db.row_factory = sqlite3.Row
        row: sqlite3.Row | None = db.execute(
            "SELECT token, exit_code, output FROM heartbeats WHERE check_name = 'nightly-backup'"
        ).fetchone()
    return row


def _post(url: str, body: bytes) -> int:
    req = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return int(r.status)


def test_a_long_failing_log_keeps_its_last_lines(tmp_path: Path) -> None:
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "checks:\n"
        "  - {name: nightly-backup, type: heartbeat, period: 1h, grace: 5m}\n"
    )
    with serve(tmp_path / "srv", config) as srv:
        wait_for("the heartbeat's URL", lambda: _row(srv) is not None)
        row = _row(srv)
        assert row is not None
        url = f"{srv.url}/heartbeat/{row['token']}"
        for size in (30_000, 45_000, 200_000, 2_000_000):
            log = "".join(f"copied chunk {i:07d} of the database dump\n" for i in range(size // 40))
            assert _post(f"{url}/3", (log + LAST).encode()) == 200
            row = _row(srv)
            assert row is not None and row["exit_code"] == 3
            output = row["output"]
            assert output is not None, size
            assert output.endswith(LAST), (size, output[-200:])
            assert 9 * 1024 <= len(output.encode()) <= 10 * 1024, (size, len(output))
