"""Journey: `serve` follows app.log, where a token leaks at lines 1 and 2; serve restarts, and the
token leaks again at line 3. The finding goes on (count 3) and still lists every place, as its
message says: app.log:1, app.log:2 and app.log:3 (it kept only app.log:3 after the restart)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support import secrets_tokens as tok
from support.serve_process import TOKEN, serve, wait_for


def test_places_before_a_restart_stay_listed(tmp_path: Path) -> None:
    token = tok.github_classic()
    log = tmp_path / "app.log"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    log.write_text(f"{now} ERROR login failed token={token}\n{now} WARN retry with {token}\n")
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        f"logs:\n  window: 1s\n  sources:\n    - {{name: app, path: {log}}}\n"
    )
    db = tmp_path / "store.db"
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def leak(srv: Any) -> dict[str, Any]:
        found = srv.get("/api/v1/findings", headers=auth).json()["logs"]
        return next((f for f in found if f["kind"] == "secret_in_log"), {})

    with serve(tmp_path / "one", config, db=db) as srv:
        wait_for("the first two leaks", lambda: leak(srv).get("count") == 2, timeout=90)
    with log.open("a") as fh:
        fh.write(f"{now} WARN again {token}\n")
    with serve(tmp_path / "two", config, db=db) as srv:
        wait_for("the third leak", lambda: leak(srv).get("count") == 3, timeout=90)
        message = leak(srv)["message"]
    # the API lists messages; the places are in the stored row's details
    with sqlite3.connect(db) as conn:
        count, raw = conn.execute(
            "SELECT count, details FROM log_findings WHERE kind = 'secret_in_log'"
        ).fetchone()
    details = json.loads(raw) if isinstance(raw, str) else raw
    [secret] = details["secrets"]
    assert count == 3 and secret["count"] == 3, details
    assert secret["places"] == [f"{log}:1", f"{log}:2", f"{log}:3"], details
    assert "1 secret, every place listed:" in message and token not in message, message
    assert f"{log}:1, {log}:2, {log}:3" in message, message
