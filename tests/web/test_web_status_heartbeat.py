"""The status page draws no response-time chart for a heartbeat (a job that pings has no
response time: its results' 0 ms drew a 0 / 0.5 / 1 ms chart); it shows the last ping instead."""

from __future__ import annotations

import re
import time

from sqlalchemy import update
from starlette.testclient import TestClient

from prodshield.store import Store
from prodshield.store import tables as t


def _service(html: str, name: str) -> str:
    found = re.search(rf'<article class="service" data-service="{name}".*?</article>', html, re.S)
    assert found is not None, html[:2000]
    return found.group(0)


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
    beat = _service(html, "nightly-backup")
    assert 'class="chart response"' not in beat
    assert "response time, last 24 h" not in beat
    assert 'class="heartbeat' in beat or "beats-box" in beat  # its results bar stays
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(last))
    assert re.search(rf"last ping <time [^>]*>{stamp}</time> · 3 pings received", beat), beat
    # a service with response times keeps its chart
    assert 'class="chart response"' in _service(html, "Website")
