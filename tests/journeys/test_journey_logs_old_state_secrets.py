"""Journey: a store written by a version that learnt log lines as they were (before the miner
learnt them with their secrets as variables) holds a GitHub token in a saved template and its
example, in the miner's state and in ``log_templates``. Resuming from it, ``logs templates
--save`` prints no secret and saves the state again without it, and ``serve``'s
``/api/v1/templates`` shows the old row redacted."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from pathlib import Path

from support.alerting import TOKEN
from support.cli import prodshield, shell_env
from support.serve import read_bound, start_serve, stop_serve

SECRET = "ghp_R8x2Kq7Lm4Np9Ts1Vw3Yz6Ab0Cd5Ef8Gh2Jk"
WORDS = ["deploy", "hook", "for", "<*>", "used", SECRET]
SEEN = time.time() - 600  # recent: retention keeps the row (templates unseen for long are pruned)
OLD_STATE = {
    "version": 2,
    "lines": 2,
    "clusters": [
        {
            "id": "d239eaf8ee513140",
            "first": WORDS,
            "tokens": WORDS,
            "count": 2,
            "values": [],
            "gen": [],
            "stats": {"d239eaf8ee513140": [2, f"deploy hook for shop used {SECRET}", SEEN, SEEN]},
            "subs": {"d239eaf8ee513140": []},
            "joined": None,
        }
    ],
}


def _old_store(tmp_path: Path) -> None:
    """A store as the older version left it: made by a command, then its rows as it wrote them."""
    (tmp_path / "app.log").write_text(
        "2026-12-07 04:10:00,000 INFO app: deploy hook for cart used nothing\n"
        "2026-12-07 04:10:01,000 INFO app: worker 3 started\n",
        encoding="utf-8",
    )
    made = prodshield(tmp_path, "db", "upgrade", env=shell_env())
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("DELETE FROM kv WHERE namespace = 'logs' AND key = 'miner'")
        db.execute(
            "INSERT INTO kv (namespace, key, value, updated_at) VALUES ('logs', 'miner', ?, 1.0)",
            (json.dumps(OLD_STATE),),
        )
        db.execute(
            "INSERT INTO log_templates (id, template, count, first_seen, last_seen, example, "
            "source) VALUES ('d239eaf8ee513140', ?, 2, ?, ?, ?, 'app')",
            (" ".join(WORDS), SEEN, SEEN, f"deploy hook for shop used {SECRET}"),
        )


def test_an_old_state_with_a_secret_never_reaches_output(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n    - {name: app, path: app.log, format: python}\n"
    )
    _old_store(tmp_path)
    serve = start_serve(tmp_path / "shield.yaml", cwd=tmp_path, env=shell_env())
    try:
        port, _ = read_bound(serve)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/templates",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read().decode()
        assert "deploy hook for" in body, body
        assert SECRET not in body and SECRET[:12] not in body, body
    finally:
        stop_serve(serve, timeout=60)

    for fmt in ("table", "json"):
        shown = prodshield(
            tmp_path, "logs", "templates", "--save", "--format", fmt, env=shell_env()
        )
        assert shown.returncode == 0, shown.stderr
        assert SECRET not in shown.stdout and SECRET[:12] not in shown.stdout, shown.stdout
    with sqlite3.connect(tmp_path / "store.db") as db:
        saved = db.execute("SELECT value FROM kv WHERE namespace = 'logs' AND key = 'miner'")
        state = saved.fetchone()[0]
    assert SECRET not in state and SECRET[:12] not in state, state
