"""A status page that talks: written updates (CLI, API, dashboard) on the public page, the Atom
feed (parsed by feedparser) and the SVG badges (rendered by Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
import uvicorn
from sqlalchemy import select
from starlette.testclient import TestClient

from prodshield.errors import Conflict, NotFound
from prodshield.store import Store, open_store
from prodshield.store import tables as t
from prodshield.web.app import create_app
from support.net import loopback_socket
from support.web_seed import TOKEN, loaded_config, seed

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHROMIUM = "/usr/bin/chromium"


def _incident(store: Store, status: str) -> int:
    with store.connect() as conn:
        row = conn.execute(
            select(t.incidents.c.id).where(t.incidents.c.status == status).limit(1)
        ).first()
    assert row is not None
    return int(row[0])


def test_updates_show_on_the_status_page_and_in_the_feed(client: TestClient, store: Store) -> None:
    ongoing = _incident(store, "open")
    r = client.post(
        f"/api/v1/incidents/{ongoing}/updates",
        json={"text": "We found the cause <b>and</b> are rolling back."},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    client.post(
        f"/api/v1/incidents/{ongoing}/updates", json={"text": "Rollback done."}, headers=AUTH
    )
    assert (
        client.post(
            f"/api/v1/incidents/{ongoing}/updates", json={"text": " "}, headers=AUTH
        ).status_code
        == 400
    )
    assert (
        client.post("/api/v1/incidents/99999/updates", json={"text": "x"}, headers=AUTH).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/incidents/{ongoing}/updates", json={"text": "x"}).status_code == 401
    )
    one = client.get(f"/api/v1/incidents/{ongoing}", headers=AUTH).json()
    assert [u["text"] for u in one["updates"]] == [
        "We found the cause <b>and</b> are rolling back.",
        "Rollback done.",
    ]

    page = client.get("/").text
    article = page.split(f'data-incident="{ongoing}"')[1].split("</article>")[0]
    updates = re.findall(r'<li class="update"[^>]*>.*?</time> (.*?)</li>', article)
    assert updates == [
        "We found the cause &lt;b&gt;and&lt;/b&gt; are rolling back.",
        "Rollback done.",
    ]

    raw = client.get("/status/feed.atom")
    assert raw.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(raw.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title.endswith("incidents and updates")
    titles = [e.title for e in feed.entries]
    assert any(title.startswith("Update on") and "Rollback done." in title for title in titles)
    assert sum(1 for title in titles if title.startswith("Incident:")) >= 2  # open and resolved
    first = next(e for e in feed.entries if "rolling back" in e.summary)
    assert "<b>and</b>" in first.summary  # text, not markup
    assert len({e.id for e in feed.entries}) == len(feed.entries)


def test_badges_say_the_state_and_uptime(client: TestClient) -> None:
    status = client.get("/badge/website.svg")
    assert status.status_code == 200 and status.headers["content-type"] == "image/svg+xml"
    assert ">website<" in status.text
    prod = client.get("/badge/website.svg", params={"environment": "production"}).text
    staging = client.get("/badge/website.svg", params={"environment": "staging"}).text
    assert ">up<" in prod and ">down<" in staging
    assert ">down<" in status.text  # the worst of its environments
    uptime = client.get("/badge/website/uptime.svg").text
    found = re.search(r">(\d+\.\d\d)%<", uptime)
    assert found is None or 0 <= float(found.group(1)) <= 100, uptime  # a percentage, once
    assert found or ">no data<" in uptime
    assert "not found" in client.get("/badge/nope.svg").text


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")}
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_posts_an_update(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\nchecks:\n  - {name: shop, type: tcp, host: 127.0.0.1, port: 9}\n"
    )
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.begin() as conn:
        conn.execute(
            t.incidents.insert().values(
                check_name="shop", environment="", kind="down", status="open", opened_at=time.time()
            )
        )
    store.close()
    done = _cli(tmp_path, "incident", "update", "1", "Investigating the database.")
    assert done.returncode == 0, done.stderr
    assert "update posted on incident #1" in done.stdout
    missing = _cli(tmp_path, "incident", "update", "7", "x")
    assert missing.returncode == 2 and missing.stderr.strip() == "error: no incident 7"
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.connect() as conn:
        texts = [r.text for r in conn.execute(select(t.incident_updates))]
    store.close()
    assert texts == ["Investigating the database."]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    seed(store)
    app = create_app(loaded_config(tmp_path), store, token=TOKEN)
    sock = loopback_socket()  # held from the start: no port race with a later bind
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        store.close()


def test_badges_render_in_chromium(site: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page()
            seen: dict[str, Any] = {}
            for path in ("/badge/website.svg?environment=staging", "/badge/website/uptime.svg"):
                assert page.goto(site + path).status == 200
                seen[path] = page.evaluate(
                    """() => {
                        const svg = document.documentElement;
                        const texts = [...svg.querySelectorAll('text')];
                        return {
                            tag: svg.tagName,
                            width: svg.getBoundingClientRect().width,
                            words: texts.map(t => t.textContent),
                            drawn: texts.every(t => t.getComputedTextLength() > 0),
                            fill: svg.querySelectorAll('rect')[1].getAttribute('fill'),
                        };
                    }"""
                )
            down = seen["/badge/website.svg?environment=staging"]
            assert down["tag"] == "svg" and down["width"] > 60 and down["drawn"]
            assert down["words"] == ["website (staging)", "down"] and down["fill"] == "#f04438"
            uptime = seen["/badge/website/uptime.svg"]
            assert uptime["drawn"] and uptime["words"][0] == "uptime 30d"
        finally:
            browser.close()


def test_static_site_has_the_updates_and_the_feed(store: Store, tmp_path: Path) -> None:
    from prodshield.monitor.incidents import post_update
    from prodshield.web.status_site import build_site

    seed(store)
    loaded = loaded_config(tmp_path)
    assert post_update(store, loaded.config, _incident(store, "open"), "Failing over to B.", "ops")
    out = tmp_path / "site"
    report = build_site(loaded, store, out)
    assert out / "feed.atom" in report.files
    assert "Failing over to B." in (out / "index.html").read_text()
    feed = feedparser.parse((out / "feed.atom").read_bytes())
    assert not feed.bozo and any("Failing over to B." in e.summary for e in feed.entries)


def test_dashboard_posts_an_update(client: TestClient, store: Store) -> None:
    ongoing = _incident(store, "open")
    assert (
        client.post(f"/dashboard/incidents/{ongoing}/update", data={"text": "x"}).status_code == 401
    )
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    client.post("/login", data={"token": TOKEN, "csrf": csrf.group(1), "next": "/dashboard"})
    listing = client.get("/dashboard/incidents").text
    form_csrf = re.search(
        rf'action="/dashboard/incidents/{ongoing}/update".*?name="csrf" value="([^"]+)"', listing
    )
    assert form_csrf, "the incidents page has the update form"
    r = client.post(
        f"/dashboard/incidents/{ongoing}/update",
        data={"csrf": form_csrf.group(1), "text": "Database failover started."},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Database failover started." in client.get("/").text
    timeline = client.get(f"/dashboard/incidents/{ongoing}").text
    assert 'data-type="update"' in timeline and "Database failover started." in timeline


def test_environment_badges_say_the_worst_state_and_lowest_uptime(client: TestClient) -> None:
    staging = client.get("/badge/env/staging/status.svg")
    assert staging.status_code == 200 and staging.headers["content-type"] == "image/svg+xml"
    assert ">staging<" in staging.text and ">down<" in staging.text
    assert ">production<" in client.get("/badge/env/production/status.svg").text
    env_uptime = client.get("/badge/env/production/uptime.svg").text
    check_uptime = client.get(
        "/badge/website/uptime.svg", params={"environment": "production"}
    ).text
    found = re.search(r">(\d+\.\d\d)%<", env_uptime)
    assert found and 0 <= float(found.group(1)) <= 100, env_uptime  # a percentage, once
    assert f">{found.group(1)}%<" in check_uptime  # its only check's figure
    assert ">not found<" in client.get("/badge/env/nowhere/uptime.svg").text
    assert client.get("/badge/env/production/other.svg").status_code == 404


def test_static_site_shows_manual_incidents_and_post_mortems(store: Store, tmp_path: Path) -> None:
    from prodshield.monitor.incidents import open_manual, resolve_by_hand, set_postmortem
    from prodshield.web.status_site import build_site

    seed(store)
    loaded = loaded_config(tmp_path)
    done = open_manual(
        store, loaded.config, "Card payments are delayed", service="payments", text="On it."
    )
    going = open_manual(store, loaded.config, "Search is stale", service="search")
    with pytest.raises(Conflict, match="still open"):
        set_postmortem(store, loaded.config, done, "https://wiki.example.com/pm/1", "ops")
    assert resolve_by_hand(store, loaded.config, done, "ops")
    with pytest.raises(ValueError, match="http"):
        set_postmortem(store, loaded.config, done, "javascript:alert(1)", "ops")
    assert set_postmortem(store, loaded.config, done, "https://wiki.example.com/pm/1", "ops")
    # the same link again changes nothing; no such incident is NotFound
    assert not set_postmortem(store, loaded.config, done, "https://wiki.example.com/pm/1", "ops")
    with pytest.raises(NotFound, match="no incident 10000"):
        set_postmortem(store, loaded.config, 10_000, "https://wiki.example.com/pm/1", "ops")
    out = tmp_path / "site"
    build_site(loaded, store, out)
    page = (out / "index.html").read_text()
    ongoing, _, past = page.partition('class="incidents past"')
    assert f'data-incident="{going}"' in ongoing and "Search is stale" in ongoing
    assert "Card payments are delayed" in past and "On it." in past
    assert 'href="https://wiki.example.com/pm/1"' in past
    assert 'action="/status/subscribe"' not in page  # a static site takes no subscriptions
    feed = feedparser.parse((out / "feed.atom").read_bytes())
    assert not feed.bozo
    entry = next(e for e in feed.entries if "Card payments" in e.title)
    assert any(link.get("rel") == "related" for link in entry.links)


def test_manual_incident_refuses_an_environment_the_config_lacks(
    store: Store, tmp_path: Path
) -> None:
    """A typo ('prod') is refused, naming it, instead of opening an incident in no environment."""
    from prodshield.monitor.incidents import open_manual

    loaded = loaded_config(tmp_path)
    with pytest.raises(ValueError, match="no environment named 'prod'"):
        open_manual(store, loaded.config, "Payments", service="payments", environment="prod")
    with store.begin() as conn:
        assert conn.execute(select(t.incidents.c.id)).first() is None
    opened = open_manual(
        store, loaded.config, "Payments", service="payments", environment="production"
    )
    assert opened > 0


def test_the_dashboard_offers_no_silence_nor_check_link_for_a_manual_incident(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    """A silence holds a check's pages and a manual incident's service is no check: no Silence
    form that answers "no check named 'payments'", no link to a check page that is a 404."""
    from prodshield.monitor.incidents import open_manual

    manual = open_manual(
        store, loaded_config(tmp_path).config, "Card payments are delayed", service="payments"
    )
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    client.post("/login", data={"token": TOKEN, "csrf": csrf.group(1), "next": "/dashboard"})
    listing = client.get("/dashboard/incidents").text
    row = listing[listing.index(f'data-incident="{manual}"') :]
    row = row[: row.index("</tr>")]
    assert "payments" in row and "/dashboard/checks/payments" not in row
    assert "silence-form" not in row and "Post update" in row
    assert "silence-form" in listing  # a check's open incident keeps its form
    single = client.get(f"/dashboard/incidents/{manual}").text
    assert "/dashboard/checks/payments" not in single and "silence-form" not in single
