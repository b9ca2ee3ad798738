"""Escalation policies against a real store, and PagerDuty's signed webhook coming back."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from prodshield.config import parse_config
from prodshield.monitor.escalation import audience, due_levels
from prodshield.monitor.incidents import CheckOutcome, IncidentEngine, acknowledge
from prodshield.notify.providers.pagerduty import signature_ok, webhook_event
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web import create_app

CONFIG = """
defaults: {failure_threshold: 1, success_threshold: 1, escalation: platform}
notifiers:
  chat: {type: webhook, url: "http://127.0.0.1:9/chat"}
  primary: {type: webhook, url: "http://127.0.0.1:9/primary"}
  secondary: {type: webhook, url: "http://127.0.0.1:9/secondary"}
  pd:
    type: pagerduty
    routing_key: R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12
    webhook_secret: s3cr3t-signing
escalations:
  platform:
    - {after: 5m, notify: [primary]}
    - {after: 15m, notify: [secondary, primary]}
checks:
  - {name: api, type: http, url: "http://api/", alerts: [chat]}
  - {name: quiet, type: http, url: "http://q/", alerts: [chat], escalation: null}
"""
T0 = 1_800_000_000.0


def run(store: Store, eng: IncidentEngine, ts: float, check: str, ok: bool) -> None:
    with store.begin() as conn:
        eng.process(conn, [CheckOutcome(check, "", ts, ok, None if ok else "refused", "x")], now=ts)


def rows(store: Store) -> list[tuple[str, str]]:
    with store.connect() as conn:
        out = conn.execute(select(t.outbox).order_by(t.outbox.c.id)).all()
    return [(r.notifier, r.idempotency_key) for r in out]


def test_due_levels_and_audience() -> None:
    assert due_levels([60, 300], 0, 59, acknowledged=False, reached=set()) == []
    assert due_levels([60, 300], 0, 60, acknowledged=False, reached=set()) == [1]
    assert due_levels([60, 300], 0, 400, acknowledged=False, reached={1}) == [2]
    assert due_levels([60, 300], 0, 400, acknowledged=True, reached=set()) == []
    refs = {"escalated": [{"level": 1, "notify": ["b", "a"]}]}
    assert audience(("a",), refs) == ("a", "b")


def test_levels_page_once_each_and_hear_the_resolution(store: Store) -> None:
    eng = IncidentEngine(parse_config(CONFIG, env={}).config)
    run(store, eng, T0, "api", False)
    assert rows(store) == [("chat", "incident:1:opened")]
    run(store, eng, T0 + 299, "api", False)
    assert len(rows(store)) == 1
    run(store, eng, T0 + 300, "api", False)
    run(store, eng, T0 + 301, "api", False)
    assert rows(store)[1:] == [("primary", "incident:1:escalated:1")]
    run(store, eng, T0 + 900, "api", False)
    assert sorted(rows(store)[2:]) == [
        ("primary", "incident:1:escalated:2"),  # paged again: the level names it
        ("secondary", "incident:1:escalated:2"),
    ]
    run(store, eng, T0 + 901, "api", True)
    resolved = {n for n, k in rows(store) if k == "incident:1:resolved"}
    assert resolved == {"chat", "primary", "secondary"}


def test_acknowledged_or_policy_free_incidents_do_not_escalate(store: Store) -> None:
    config = parse_config(CONFIG, env={}).config
    eng = IncidentEngine(config)
    run(store, eng, T0, "api", False)
    run(store, eng, T0, "quiet", False)
    assert acknowledge(store, config, 1, "alice", now=T0 + 10)
    run(store, eng, T0 + 1000, "api", False)
    run(store, eng, T0 + 1000, "quiet", False)
    assert {k for _, k in rows(store)} == {
        "incident:1:opened",
        "incident:2:opened",
        "incident:1:acknowledged",
    }


def _sign(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_pagerduty_signatures() -> None:
    body = b'{"event": {"event_type": "incident.acknowledged"}}'
    good = _sign("k", body)
    assert signature_ok("k", body, good)
    assert signature_ok("k", body, f"v1=00ff,{good}")  # a rotation: any one matches
    assert not signature_ok("k", body + b" ", good)
    assert not signature_ok("other", body, good)
    assert not signature_ok("k", body, None)
    assert not signature_ok("k", body, good.replace("v1=", "v0="))
    assert webhook_event(b"not json") is None
    assert webhook_event(b'{"event": []}') is None
    assert webhook_event(body) == ("incident.acknowledged", None, "someone")


def test_pagerduty_webhook_acknowledges_the_incident_of_its_alert(
    store: Store, tmp_path: Path
) -> None:
    from prodshield.config import LoadedConfig

    loaded = parse_config(CONFIG, env={})
    assert isinstance(loaded, LoadedConfig)
    eng = IncidentEngine(loaded.config)
    run(store, eng, T0, "api", False)
    app = create_app(loaded, store, token="t" * 24)
    payload = {
        "event": {
            "event_type": "incident.acknowledged",
            "agent": {"summary": "Dana <b>Ops</b>", "type": "user_reference"},
            "data": {"type": "incident", "incident_key": "incident:api:"},
        }
    }
    body = json.dumps(payload).encode()
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/hooks/pagerduty/pd", content=body)
        assert r.status_code == 401
        r = c.post("/hooks/pagerduty/chat", content=body, headers={"X-PagerDuty-Signature": "x"})
        assert r.status_code == 404
        big = b"x" * (300 * 1024)
        r = c.post("/hooks/pagerduty/pd", content=big, headers={"X-PagerDuty-Signature": "x"})
        assert r.status_code == 413
        sig = {"X-PagerDuty-Signature": _sign("s3cr3t-signing", body)}
        r = c.post("/hooks/pagerduty/pd", content=body, headers=sig)
        assert r.status_code == 200 and r.json()["acknowledged"] == 1
        bad = b"[1, 2"
        r = c.post(
            "/hooks/pagerduty/pd",
            content=bad,
            headers={"X-PagerDuty-Signature": _sign("s3cr3t-signing", bad)},
        )
        assert r.status_code == 400
    with store.connect() as conn:
        row = conn.execute(select(t.incidents).where(t.incidents.c.id == 1)).one()
    assert row.acknowledged_by == "Dana <b>Ops</b> (PagerDuty)"
