"""The status page and dashboard in a real browser (Debian's chromium driven by Playwright).

Run against uvicorn on loopback with a seeded SQLite store. Console errors (CSP violations among
them) fail the test; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from prodshield.store import Store, open_store
from prodshield.store import tables as t
from prodshield.web import create_app
from web_seed import TOKEN, loaded_config, seed

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_sync = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    seed(store)
    app = create_app(loaded_config(tmp_path), store, token=TOKEN)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", store
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


@pytest.fixture
def page(site: tuple[str, Store]) -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=30000)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            pg = context.new_page()
            pg.set_default_timeout(10000)
            errors: list[str] = []
            pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.console_errors = errors
            yield pg
        finally:
            browser.close()


def test_status_page_renders_checks_incident_and_charts(page: Any, site: tuple[str, Store]) -> None:
    base, _ = site
    page.goto(base + "/")
    assert page.locator("#overall h1").inner_text() == "Some services are down"
    services = page.locator("article.service")
    names = services.locator("h3").all_inner_texts()
    assert any(n.startswith("Website") for n in names) and any(n.startswith("API") for n in names)
    ongoing = page.locator("section.incidents.open article.incident")
    assert ongoing.count() == 1 and "website" in ongoing.inner_text()
    past = page.locator("section.incidents.past article.incident")
    assert past.count() == 1 and "lasted 12m" in past.inner_text()
    website = page.locator('article.service[data-service="Website"][data-environment="production"]')
    bars = website.locator("svg.bars rect")
    assert bars.count() == 90
    assert website.locator("svg.bars rect.bar-ok").count() >= 25
    box = website.locator("svg.bars").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 20
    line = website.locator("svg.latency polyline.line")
    assert line.count() == 1 and len(line.get_attribute("points").split()) >= 20
    # the stylesheet applied (CSP allows 'self'): bars are coloured, not black
    fill = bars.last.evaluate("e => getComputedStyle(e).fill")
    assert fill not in ("rgb(0, 0, 0)", "")
    page.screenshot(path=str(ARTIFACTS / "status-page.png"), full_page=True)
    assert page.console_errors == []


def test_login_refuses_wrong_token_then_acknowledges_incident(
    page: Any, site: tuple[str, Store]
) -> None:
    base, store = site
    page.goto(base + "/dashboard")
    assert page.url.startswith(base + "/login")
    page.fill("#token", "not-the-token")
    page.click("button[type=submit]")
    assert page.locator(".flash.error").inner_text() == "Wrong token."
    page.screenshot(path=str(ARTIFACTS / "login-refused.png"))
    # The refusal itself is a 401 document, which chromium logs; nothing else may be.
    assert page.console_errors == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    ]
    page.console_errors.clear()
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/dashboard")
    assert page.locator("table.checks-table tbody tr").count() == 5
    row = page.locator("table.incidents-table tr.incident-row")
    assert row.count() == 1
    assert TOKEN not in page.content()
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    row.locator("button.btn-ack").click()
    page.wait_for_selector("tr.incident-row .pill.s-ack")
    with store.connect() as conn:
        acked = conn.execute(
            select(t.incidents.c.acknowledged_by).where(t.incidents.c.status == "open")
        ).scalar_one()
    assert acked == "dashboard"
    # a note through the form, then the check page with its condition values and charts
    page.goto(base + "/dashboard/incidents")
    page.fill("tr.incident-row .note-form input[name=text]", "restarting the pod")
    page.click("tr.incident-row .note-form button")
    page.wait_for_selector("text=restarting the pod")
    page.goto(base + "/dashboard/checks/website")
    assert page.locator("table.results-table").first.locator("th code").count() == 2
    assert page.locator("svg.bars").count() == 2
    page.screenshot(path=str(ARTIFACTS / "check.png"), full_page=True)
    for tab in ("logs", "audit", "chaos", "notifications", "cost"):
        page.goto(f"{base}/dashboard/{tab}")
        assert page.locator("h1").count() == 1
    assert "Gate failed" in page.goto(f"{base}/dashboard/audit").text()
    assert page.console_errors == []
