"""The dashboard's Notifications tab: a notification still being retried shows its last error
(as ``notify status`` does), escaped (it quotes a remote's answer) and with the notifiers'
secrets masked, on both backends."""

from __future__ import annotations

import re
import time
from pathlib import Path

from starlette.testclient import TestClient

from prodshield.config import parse_config
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web import create_app
from support.web_seed import TOKEN, login

HOOK_TOKEN = "Zx81kdQpL0vN3mTq7RsW"
CONFIG = """
storage: sqlite:///unused.db
notifiers:
  ops: {type: webhook, url: "https://hooks.example.com/in?token=${HOOK_TOKEN}"}
"""


def test_a_retrying_notification_shows_its_last_error_escaped_and_masked(
    store: Store, tmp_path: Path
) -> None:
    now = time.time()
    hostile = (
        f"503 from https://hooks.example.com/in?token={HOOK_TOKEN}: "
        "<script>alert('owned')</script> try later"
    )
    with store.begin() as conn:
        conn.execute(
            t.outbox.insert(),
            [
                {
                    "idempotency_key": "retrying",
                    "notifier": "ops",
                    "event_type": "incident.opened",
                    "subject": "api down",
                    "payload": {},
                    "status": "pending",
                    "attempts": 3,
                    "next_attempt_at": now + 60,
                    "last_error": hostile,
                    "created_at": now - 100,
                },
                {
                    "idempotency_key": "sent",
                    "notifier": "ops",
                    "event_type": "incident.resolved",
                    "subject": "api up",
                    "payload": {},
                    "status": "sent",
                    "attempts": 2,
                    "next_attempt_at": now,
                    "last_error": "timed out (an earlier attempt)",
                    "created_at": now - 50,
                    "sent_at": now - 40,
                },
            ],
        )
    path = tmp_path / "shield.yaml"
    path.write_text(CONFIG)
    loaded = parse_config(CONFIG, name=str(path), env={"HOOK_TOKEN": HOOK_TOKEN}, fs_path=path)
    with TestClient(create_app(loaded, store, token=TOKEN), base_url="http://127.0.0.1") as c:
        login(c)
        page = c.get("/dashboard/notifications").text
    recent = page[page.index("<h2>Recent</h2>") : page.index("</table>", page.index("<h2>Recent"))]
    assert "<th>last error</th>" in recent
    row = re.search(r'<tr data-outbox="\d+" data-status="pending">.*?</tr>', recent, re.S)
    assert row is not None, recent
    cell = re.search(r'<td class="last-error[^"]*">(.*?)</td>', row.group(0), re.S)
    assert cell is not None, row.group(0)
    assert "503 from https://hooks.example.com/in?token=" in cell.group(1)
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt; try later" in cell.group(1)
    assert "<script>alert" not in page
    assert HOOK_TOKEN not in page
    sent = re.search(r'<tr data-outbox="\d+" data-status="sent">.*?</tr>', recent, re.S)
    assert sent is not None and "earlier attempt" not in sent.group(0)  # delivered: no error
