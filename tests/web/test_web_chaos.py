"""The chaos runs in the web app: a run in progress (stored as ``running`` by ``chaos run -c`` or
serve's schedule) is named on the dashboard's overview and chaos page with its toxics, listed in
``/api/v1/chaos/journals`` and gone from the banner once its journal is stored."""

from __future__ import annotations

import re
import time

from starlette.testclient import TestClient

from prodshield.chaos.experiments.journal import finish_journal, start_journal
from prodshield.store import Store
from support.web_seed import AUTH, login

EXPERIMENT = {
    "title": "database latency <b>game day</b>",
    "method": [
        {
            "type": "action",
            "name": "slow-db",
            "provider": {
                "type": "toxic",
                "func": "add_toxic",
                "arguments": {
                    "proxy": "postgres",
                    "type": "latency",
                    "attributes": {"latency": 300},
                },
            },
        },
        {
            "type": "action",
            "name": "ctk-slicer",
            "provider": {
                "type": "python",
                "module": "chaostoxi.toxic.actions",
                "func": "create_slicer_toxic",
                "arguments": {"for_proxy": "redis", "toxic_name": "s", "average_size": 64},
            },
        },
    ],
}


def test_a_running_experiment_is_named_until_its_journal_is_stored(
    client: TestClient, store: Store
) -> None:
    row = start_journal(store, EXPERIMENT, time.time() - 30, environment="staging")
    login(client)
    overview = client.get("/dashboard").text
    assert 'id="chaos-running"' in overview
    assert "database latency &lt;b&gt;game day&lt;/b&gt;" in overview  # escaped
    assert "latency on proxy postgres" in overview and "slicer on proxy redis" in overview
    chaos = client.get("/dashboard/chaos").text
    assert f'data-id="{row}" data-status="running"' in chaos

    listed = client.get("/api/v1/chaos/journals", headers=AUTH).json()
    mine = next(j for j in listed["journals"] if j["id"] == row)
    assert mine["running"] and mine["environment"] == "staging" and mine["source"] == "chaos run"
    assert [(x["proxy"], x["type"]) for x in mine["toxics"]] == [
        ("postgres", "latency"),
        ("redis", "slicer"),
    ]
    assert mine["toxics"][1]["attributes"] == {"average_size": 64}
    assert client.get("/api/v1/chaos/journals/999999", headers=AUTH).status_code == 404

    journal = {"experiment": EXPERIMENT, "status": "completed", "deviated": True, "run": []}
    finish_journal(store, row, journal, time.time(), environment="staging")
    assert 'id="chaos-running"' not in client.get("/dashboard").text
    whole = client.get(f"/api/v1/chaos/journals/{row}", headers=AUTH).json()
    assert whole["status"] == "completed" and whole["deviated"] and not whole["ok"]
    assert whole["journal"]["prodshield"]["toxics"][0]["attributes"] == {"latency": 300}


def test_each_run_on_the_chaos_page_links_to_its_journal(client: TestClient, store: Store) -> None:
    """The chaos page listed runs with no way to their journals; each run links to
    ``/api/v1/chaos/journals/{id}``, which the dashboard's session reads (no token needed)."""
    done = start_journal(store, EXPERIMENT, time.time() - 60)
    journal = {"experiment": EXPERIMENT, "status": "completed", "deviated": False, "run": []}
    finish_journal(store, done, journal, time.time() - 50)
    running = start_journal(store, EXPERIMENT, time.time() - 5)
    login(client)
    page = client.get("/dashboard/chaos").text
    for row in (done, running):
        tr = re.search(rf'<tr class="journal" data-id="{row}".*?</tr>', page, re.S)
        assert tr is not None, page
        links = re.findall(r'<a class="journal-link" href="([^"]+)"', tr.group(0))
        assert links == [f"/api/v1/chaos/journals/{row}"], tr.group(0)
        seen = client.get(links[0])  # the session's cookie, as the browser follows the link
        assert seen.status_code == 200 and seen.json()["id"] == row, seen.text
    assert client.get(f"/api/v1/chaos/journals/{done}").json()["journal"]["status"] == "completed"
    client.cookies.clear()
    assert client.get(f"/api/v1/chaos/journals/{done}").status_code == 401
