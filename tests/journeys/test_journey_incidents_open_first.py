"""Journey: the dashboard's Incidents page listed the one open (acknowledged) incident at the
bottom, under the resolved ones opened after it. Open incidents now come first (newest first),
then the resolved ones (newest first), on the dashboard page, in `GET /api/v1/incidents` and in
`incident list --status all` alike (CLI as a subprocess, then `serve` over HTTP)."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import time
from pathlib import Path

from support.alerting import cli
from support.serve_process import TOKEN, serve, signed_in_page

NAMES = ("orders", "payments", "search", "billing")
EXPECTED = [1, 4, 3, 2]  # #1 open (the oldest), then the resolved ones newest first


def _config(port: int, db: Path) -> str:
    checks = "".join(
        f"  - {{name: {name}, type: tcp, host: 127.0.0.1, port: {port}, interval: 1h,"
        " failure_threshold: 1, success_threshold: 100}\n"
        for name in NAMES
    )
    return (
        f"storage: sqlite:///{db}\n"
        f"checks:\n{checks}"
        f'serve: {{host: 127.0.0.1, port: {{port}}, token: "{TOKEN}"}}\n'
    )


def test_open_incidents_are_listed_first_everywhere(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    config = _config(refused.getsockname()[1], db).replace("{port}", "0")
    (tmp_path / "shield.yaml").write_text(config)
    try:
        opened = cli(tmp_path, "monitor", "once")
    finally:
        refused.close()
    assert opened.stdout.count("opened") == 4, opened.stdout + opened.stderr
    # #1 opened an hour ago and still open; #2..#4 opened after it, each resolved since
    now = time.time()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE incidents SET opened_at = ? WHERE id = 1", (now - 3600,))
        for incident_id in (2, 3, 4):
            at = now - 1800 + 60 * incident_id
            conn.execute(
                "UPDATE incidents SET status = 'resolved', opened_at = ?, resolved_at = ?"
                " WHERE id = ?",
                (at, at + 30, incident_id),
            )
    listed = cli(tmp_path, "incident", "list", "--status", "all", "--json")
    assert [i["id"] for i in json.loads(listed.stdout)["incidents"]] == EXPECTED, listed.stdout

    healthy = socket.socket()
    healthy.bind(("127.0.0.1", 0))
    healthy.listen(16)  # serve's checks succeed: nothing new opens, #1 stays open (100 needed)
    try:
        with serve(tmp_path / "serve", _config(healthy.getsockname()[1], db), db=db) as srv:
            api = srv.get("/api/v1/incidents", headers={"Authorization": f"Bearer {TOKEN}"})
            assert [i["id"] for i in api.json()["incidents"]] == EXPECTED, api.json()
            page = signed_in_page(srv, "/dashboard/incidents")
            shown = [int(n) for n in re.findall(r'data-incident="(\d+)"', page)]
            assert shown == EXPECTED, shown
    finally:
        healthy.close()
