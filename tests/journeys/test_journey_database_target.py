"""Journey (newcomer review 3, item 9): an incident on a postgres check showed the SQL query as
its target (`"target": "SELECT 1"`, ``- Target: `SELECT 1` ``), so on-call could not tell which
database was down. Now the target is the database, its user, password and parameters left out."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

from support.cli import prodshield, wide_env
from support.net import http_server, refused_port

PASSWORD = "s3cr3t-pg-password-xyz"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_database_incident_names_the_database_not_the_query(tmp_path: Path) -> None:
    pg, pg_kv, cache = refused_port(), refused_port(), refused_port()
    with http_server(_Hook) as hook:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "defaults: {failure_threshold: 1}\n"
            "notifiers:\n"
            f"  ops: {{type: webhook, url: 'http://127.0.0.1:{hook}/hook'}}\n"
            "checks:\n"
            f"  - {{name: db, type: postgres, timeout: 2s, alerts: [ops],"
            f" dsn: 'postgresql://monitor:{PASSWORD}@127.0.0.1:{pg}/test?sslmode=disable',"
            " query: 'SELECT count(*) FROM orders'}\n"
            f"  - {{name: db2, type: postgres, timeout: 2s, alerts: [ops],"
            f" dsn: 'host=127.0.0.1 port={pg_kv} dbname=shop user=monitor password={PASSWORD}'}}\n"
            f"  - {{name: cache, type: redis, timeout: 2s, alerts: [ops],"
            f" url: 'redis://:{PASSWORD}@127.0.0.1:{cache}/0'}}\n"
        )
        done = prodshield(tmp_path, "monitor", "once", "--notify-wait", "10s", env=wide_env())
        assert done.returncode == 1, done.stdout + done.stderr
    events = [p["event"] for p in _Hook.received]
    targets = {e["fields"]["check"]: e["fields"]["target"] for e in events}
    assert targets == {
        "db": f"postgresql://127.0.0.1:{pg}/test",
        "db2": f"postgresql://127.0.0.1:{pg_kv}/shop",
        "cache": f"redis://127.0.0.1:{cache}/0",
    }, _Hook.received
    everything = json.dumps(_Hook.received) + done.stdout + done.stderr
    assert PASSWORD not in everything
    assert f"Target: `postgresql://127.0.0.1:{pg}/test`" in everything, everything
