"""The status page draws no response-time chart for a heartbeat (a job that pings has no
response time: its results' 0 ms drew a 0 / 0.5 / 1 ms chart); it shows the last ping instead."""

from __future__ import annotations

import re
import time
from pathlib import Path

from sqlalchemy import update
from starlette.testclient import TestClient

from prodshield.store import Store
from prodshield.store import tables as t
from support.pages import service_card


def test_a_heartbeat_shows_its_last_ping_not_a_response_chart(
    client: TestClient, store: Store
) -> None:
    now = time.time()
    last = now - 120
    with store.begin() as conn:
        conn.execute(
            t.check_results.insert(),
            [
                {
                    "check_name": "nightly-backup",
                    "environment": "",
                    "ts": now - 60 * i,
                    "ok": True,
                    "response_time_ms": 0.0,
                }
                for i in range(30)
            ],
        )
        conn.execute(
            update(t.heartbeats)
            .where(t.heartbeats.c.check_name == "nightly-backup")
            .values(last_ping=last, pings=3)
        )
    html = client.get("/").text
    beat = service_card(html, "nightly-backup")
    assert 'class="chart response"' not in beat
    assert "response time, last 24 h" not in beat
    assert 'class="heartbeat' in beat or "beats-box" in beat  # its results bar stays
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(last))
    assert re.search(rf"last ping <time [^>]*>{stamp}</time> · 3 pings received", beat), beat
    # a service with response times keeps its chart
    assert 'class="chart response"' in service_card(html, "Website")


TWO_ENVIRONMENTS = """
storage: sqlite:///unused.db
environments:
  production: {}
  staging: {}
checks:
  - {name: nightly-backup, type: heartbeat, period: 24h, environments: [production, staging]}
"""


def test_each_environment_has_its_own_ping_url_and_shows_its_own_pings(
    store: Store, tmp_path: Path
) -> None:
    """One heartbeat check in production and staging: a ping to staging's URL is staging's
    (the answer names it), the status page shows it under staging only, and the dashboard's
    heartbeats table has a row per environment (both backends)."""
    from prodshield.config import parse_config
    from prodshield.monitor.heartbeats import ping_urls
    from prodshield.web import create_app
    from support.web_seed import TOKEN, login

    path = tmp_path / "shield.yaml"
    path.write_text(TWO_ENVIRONMENTS)
    loaded = parse_config(TWO_ENVIRONMENTS, name=str(path), env={}, fs_path=path)
    urls = {u.environment: u.url for u in ping_urls(store, loaded.config)}
    assert set(urls) == {"production", "staging"} and urls["production"] != urls["staging"]
    staging = "/heartbeat/" + urls["staging"].rsplit("/", 1)[1]
    with TestClient(create_app(loaded, store, token=TOKEN), base_url="http://127.0.0.1") as c:
        for _ in range(2):
            answer = c.get(staging).json()
        assert (answer["check"], answer["environment"]) == ("nightly-backup", "staging")
        html = c.get("/").text
        assert "2 pings received" in service_card(html, "nightly-backup", "staging")
        assert "no ping received yet" in service_card(html, "nightly-backup", "production")
        login(c)
        page = c.get("/dashboard/notifications").text
        rows = re.findall(r'<tr data-heartbeat="nightly-backup" data-environment="(\w+)">', page)
        assert rows == ["production", "staging"], page
