"""A manual incident's notifications link to its own dashboard page (it is about no check; the
check page of its service name does not exist)."""

from __future__ import annotations

from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.monitor.incidents import open_manual, post_update
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """
serve: {public_url: "https://status.example.com/"}
notifiers:
  ops: {type: webhook, url: "https://hooks.example.com/x"}
checks:
  - {name: web, type: http, url: "https://example.com/"}
"""


def test_a_manual_incident_links_to_its_own_page(store: Store) -> None:
    config = parse_config(CONFIG, env={}).config
    incident = open_manual(store, config, "Payments are slow", service="payments", by="alice")
    post_update(store, config, incident, "Card payments take a minute.", "alice")
    with store.connect() as conn:
        rows = conn.execute(select(t.outbox.c.event_type, t.outbox.c.payload)).all()
    assert rows, "the manual incident told nobody"
    page = f"https://status.example.com/dashboard/incidents/{incident}"
    assert {r.payload["url"] for r in rows} == {page}, [r.payload for r in rows]
