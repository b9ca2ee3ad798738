"""Acknowledge, note and resolve by hand reach the incident's GitHub issue, naming who did it.

The web app (API with a named token, dashboard with a session) calls the monitor's incident
actions; they write the incident and queue outbox events in one transaction; the outbox delivers
them to the GitHub stand-in (the real wire format) as comments on the incident's issue.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from prodshield.config import parse_config
from prodshield.config.loader import LoadedConfig
from prodshield.monitor.incidents import CheckOutcome, IncidentEngine
from prodshield.notify import deliver_pending
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web import create_app
from support.standins.github import GitHubStandin
from support.standins.paging import OPSGENIE_KEY, PD_KEY, PagingStandin

GH_TOKEN = "ghp_" + "A" * 36
REPO = "acme/hive"
OPERATOR_TOKEN = "operator-token-0123456789"
ALICE_TOKEN = "alice-token-0123456789abc"
BOB_TOKEN = "bob-token-0123456789abcdef"


def _config(tmp_path: Path, api_url: str) -> LoadedConfig:
    text = f"""
storage: sqlite:///unused.db
serve:
  users: {{alice: "{ALICE_TOKEN}", bob-bot: "{BOB_TOKEN}"}}
environments: {{production: {{vars: {{base: "http://127.0.0.1:9"}}}}}}
defaults: {{failure_threshold: 2}}
notifiers:
  gh: {{type: github, repo: {REPO}, token: "{GH_TOKEN}", api_url: "{api_url}", marker_key: "k-0123456789abcdef"}}
checks:
  - {{name: api, type: http, url: "{{base}}/health", environments: [production]}}
"""
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    return parse_config(text, name=str(path), env={}, fs_path=path)


def _login(c: TestClient, token: str) -> str:
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = c.post("/login", data={"token": token, "csrf": csrf.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    m = re.search(r'name="csrf" value="([^"]+)"', c.get("/dashboard").text)
    assert m
    return m.group(1)


def test_acknowledge_and_notes_become_comments_naming_who(store: Store, tmp_path: Path) -> None:
    with GitHubStandin.in_thread(tokens=(GH_TOKEN,)) as gh:
        gh.repo(REPO)
        loaded = _config(tmp_path, gh.url)
        config = loaded.config
        engine = IncidentEngine(config)
        for n in range(2):
            with store.begin() as conn:
                obs = CheckOutcome("api", "production", 1_000_000.0 + n, False, "refused", "no")
                engine.process(conn, [obs])
        deliver_pending(store, config.notifiers, deadline_s=20)
        (issue,) = gh.issues(REPO)
        assert issue["title"] == "[production] api is down"
        assert "http://127.0.0.1:9/health" in issue["body"] and "{base}" not in issue["body"]
        with store.connect() as conn:
            incident = conn.execute(select(t.incidents.c.id)).scalar_one()

        app = create_app(loaded, store, token=OPERATOR_TOKEN)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            bob = {"Authorization": f"Bearer {BOB_TOKEN}"}
            r = client.post(f"/api/v1/incidents/{incident}/ack", headers=bob, json={})
            assert r.status_code == 200 and r.json()["acknowledged_by"] == "bob-bot"
            r = client.post(
                f"/api/v1/incidents/{incident}/notes",
                headers=bob,
                json={"text": "restarting the pool", "by": "carol"},
            )
            assert r.json()["notes"][-1]["by"] == "carol (via bob-bot)"
            csrf = _login(client, ALICE_TOKEN)
            r = client.post(
                f"/dashboard/incidents/{incident}/note",
                data={"csrf": csrf, "text": "DNS looks *fine*"},
                follow_redirects=False,
            )
            assert r.status_code == 303
            operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
            r = client.post(f"/api/v1/incidents/{incident}/resolve", headers=operator, json={})
            assert r.json()["status"] == "resolved" and r.json()["resolved_by"] == "manual"
            assert r.json()["resolved_at"] >= r.json()["opened_at"]
        report = deliver_pending(store, config.notifiers, deadline_s=20)
        assert report.dead == 0
        comments = [c["body"] for c in gh.comments(REPO, issue["number"])]
        assert len(comments) == 4, comments
        assert "Acknowledged by **bob-bot**" in comments[0]
        assert "Note from **carol (via bob-bot)**" in comments[1]
        assert "restarting the pool" in comments[1]
        assert "Note from **alice**" in comments[2] and "DNS looks \\*fine\\*" in comments[2]
        assert "Resolved by hand by **operator**" in comments[3]
        assert all("token" not in c.split("_incident.")[0].lower() for c in comments)
        (closed,) = gh.issues(REPO)
        assert closed["state"] == "closed"

        # A note on a resolved incident opens no new issue.
        from prodshield.monitor.incidents import add_note

        assert add_note(store, config, incident, "post-mortem on Monday", "alice")
        deliver_pending(store, config.notifiers, deadline_s=20)
        assert len(gh.issues(REPO)) == 1

        # The next failures open a new incident (the manual resolution started counts afresh).
        for n in range(2):
            with store.begin() as conn:
                obs = CheckOutcome("api", "production", 1_000_100.0 + n, False, "refused", "no")
                engine.process(conn, [obs])
        with store.connect() as conn:
            statuses = select(t.incidents.c.status).order_by(t.incidents.c.id)
            assert conn.execute(statuses).scalars().all() == [
                "resolved",
                "open",
            ]


def test_acknowledge_from_the_api_reaches_pagerduty_and_opsgenie(
    store: Store, tmp_path: Path
) -> None:
    """The dashboard's or API's acknowledgement is PagerDuty's ``acknowledge`` and Opsgenie's
    acknowledge on the very alert the incident triggered; resolving by hand resolves/closes it."""
    with PagingStandin.in_thread() as rx:
        text = f"""
storage: sqlite:///unused.db
serve:
  users: {{bob-bot: "{BOB_TOKEN}"}}
environments: {{production: {{vars: {{base: "http://127.0.0.1:9"}}}}}}
defaults: {{failure_threshold: 1}}
notifiers:
  pd: {{type: pagerduty, routing_key: "{PD_KEY}", url: "{rx.pagerduty_url}"}}
  og: {{type: opsgenie, api_key: "{OPSGENIE_KEY}", api_url: "{rx.url}"}}
checks:
  - {{name: api, type: http, url: "{{base}}/health", environments: [production]}}
"""
        loaded = parse_config(text, name="shield.yaml", env={})
        config = loaded.config
        with store.begin() as conn:
            obs = CheckOutcome("api", "production", 1_000_000.0, False, "refused", "no")
            IncidentEngine(config).process(conn, [obs])
        assert deliver_pending(store, config.notifiers, deadline_s=20).sent == 2
        with store.connect() as conn:
            incident = conn.execute(select(t.incidents.c.id)).scalar_one()
        app = create_app(loaded, store, token=OPERATOR_TOKEN)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            bob = {"Authorization": f"Bearer {BOB_TOKEN}"}
            r = client.post(f"/api/v1/incidents/{incident}/ack", headers=bob, json={})
            assert r.status_code == 200
            report = deliver_pending(store, config.notifiers, deadline_s=20)
            assert report.sent == 2 and report.dead == 0
            [page] = rx.pagerduty.values()
            [alert] = rx.opsgenie.values()
            assert page.key == alert.key == "incident:api:production"
            assert page.actions == ["trigger", "acknowledge"] and page.status == "acknowledged"
            assert alert.actions == ["create", "acknowledge"] and alert.status == "acknowledged"
            assert rx.of("opsgenie")[-1].json()["user"] == "bob-bot"
            operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
            r = client.post(f"/api/v1/incidents/{incident}/resolve", headers=operator, json={})
            assert r.status_code == 200
        assert deliver_pending(store, config.notifiers, deadline_s=20).sent == 2
        assert page.status == "resolved" and alert.status == "closed"
