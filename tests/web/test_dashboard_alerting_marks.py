"""The dashboard marks what the alerting did to an incident: suppressed by its parent
(depends_on), silenced (by whom, until when)."""

from __future__ import annotations

from starlette.testclient import TestClient

from prodshield.config import LoadedConfig, parse_config
from prodshield.monitor import silences
from prodshield.monitor.incidents import CheckOutcome, IncidentEngine
from prodshield.store import Store
from prodshield.web import create_app
from support.web_seed import TOKEN, login

CONFIG = """
defaults: {failure_threshold: 1}
checks:
  - {name: database, type: tcp, host: db, port: 5432}
  - {name: api, type: http, url: "http://api/", depends_on: [database]}
  - {name: web, type: http, url: "http://web/"}
"""


def test_incidents_page_marks_suppressed_and_silenced_incidents(store: Store) -> None:
    loaded = parse_config(CONFIG, env={})
    assert isinstance(loaded, LoadedConfig)
    silences.create(
        store, loaded.config, check="web", environment=None, seconds=3600,
        reason="vendor outage", by="alice",
    )  # fmt: skip
    with store.begin() as conn:
        IncidentEngine(loaded.config).process(
            conn,
            [
                CheckOutcome(name, "", 1_800_000_000.0, False, "refused", "no")
                for name in ("database", "api", "web")
            ],
        )
    app = create_app(loaded, store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        login(c)
        page = c.get("/dashboard/incidents").text
    rows = {name: page[page.index(f">{name}</a>") :][:1500] for name in ("database", "api", "web")}
    assert "suppressed by database" in rows["api"]
    assert "suppressed by" not in rows["database"] and "silenced until" not in rows["database"]
    assert "silenced until" in rows["web"] and "vendor outage" in rows["web"]
    assert "vendor outage" in page[page.index("Silences") :]  # the active silence, with End now
