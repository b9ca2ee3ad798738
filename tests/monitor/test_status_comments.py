"""``/status`` comments on an incident's GitHub issue (the stand-in, paginated) become written
status updates once each; comments by prodshield's own account and other comments do not."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.monitor.status_comments import poll
from prodshield.store import Store
from prodshield.store import tables as t
from support.standins.github import BOT, GitHubStandin

REPO = "acme/shop"
TOKEN = "gh-token-0123456789"


def test_status_comments_become_updates_once(store: Store) -> None:
    with GitHubStandin.in_thread(tokens=(TOKEN,), max_per_page=50) as gh:
        config = parse_config(
            f"""
notifiers:
  gh: {{type: github, repo: {REPO}, token: "{TOKEN}", api_url: "{gh.url}", marker_key: "k-0123456789abcdef"}}
checks:
  - {{name: shop, type: tcp, host: 127.0.0.1, port: 9, alerts: [gh]}}
""",
            env={},
        ).config
        issue = gh.add_issue(REPO, "shop is down")
        now = time.time()
        with store.begin() as conn:
            inserted = conn.execute(
                t.incidents.insert().values(
                    check_name="shop", environment="", kind="down", status="open", opened_at=now
                )
            ).inserted_primary_key
            assert inserted is not None
            incident_id = inserted[0]
            conn.execute(
                t.outbox.insert().values(
                    idempotency_key=f"incident:{incident_id}:opened",
                    notifier="gh",
                    event_type="incident.opened",
                    subject="incident:shop:",
                    payload={},
                    status="sent",
                    next_attempt_at=now,
                    created_at=now,
                    result={"issue": issue["number"], "action": "opened"},
                )
            )
        for n in range(120):  # three pages of 50
            gh.add_comment(REPO, issue, f"chatter {n}", user="bob")
        gh.add_comment(
            REPO, issue, "/status Rolled back to v1; watching the error rate.", user="alice"
        )
        gh.add_comment(REPO, issue, "/status from the bot itself", user=BOT)
        gh.add_comment(REPO, issue, "/statusnot a command", user="alice")
        gh.add_comment(
            REPO,
            issue,
            "/status Recovered, monitoring. ghp_" + "Z8k2Lq9Xv4Rt7Yp1Wm3Nb6Hc5Jd0Fs2Ga8E",
            user="carol",
        )

        assert asyncio.run(poll(store, config)) == 2
        assert asyncio.run(poll(store, config)) == 0  # read again: nothing new
        with store.connect() as conn:
            rows = conn.execute(select(t.incident_updates).order_by(t.incident_updates.c.id)).all()
        assert [(r.by, r.origin) for r in rows] == [("alice", "github"), ("carol", "github")]
        assert rows[0].text == "Rolled back to v1; watching the error rate."
        assert "Z8k2Lq9Xv4Rt7Yp1Wm3Nb6Hc5Jd0Fs2Ga8E" not in rows[1].text  # redacted
        pages = gh.count("GET", rf"/repos/{REPO}/issues/{issue['number']}/comments")
        assert pages >= 6  # three pages per poll
        # updates from GitHub are not echoed back to the issue
        with store.connect() as conn:
            assert (
                conn.execute(
                    select(t.outbox.c.id).where(t.outbox.c.event_type == "incident.note")
                ).first()
                is None
            )
