"""Journey: the on-call acknowledges an incident from a phone. ``serve`` (a subprocess) opens an
incident for a port that refuses connections; in Chromium at 390 px the dashboard's open incident
is a card whose Acknowledge and Resolve buttons are on the screen (they were in a table that
scrolled sideways, off to the right), and Acknowledge works; at 1280 px it is still a table row."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.serve_process import TOKEN, Served, serve, wait_for

CHROMIUM = "/usr/bin/chromium"
PHONE = 390

playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port bound (port 0) but never listening: connections to it are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def _open_incidents(srv: Served) -> list[dict[str, Any]]:
    answer = srv.get("/api/v1/incidents", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status == 200, answer.body[:300]
    data = answer.json()
    items = data["incidents"] if isinstance(data, dict) else data
    return [i for i in items if i["status"] == "open"]


def _inside(box: dict[str, float] | None, width: int) -> bool:
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def test_an_incident_is_acknowledged_from_a_phone(tmp_path: Path, refusing_port: int) -> None:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "environments: {production: {}}\n"
        "defaults: {interval: 1s, timeout: 2s, failure_threshold: 1}\n"
        "checks:\n"
        f"  - {{name: shop, type: tcp, host: 127.0.0.1, port: {refusing_port}, "
        "environments: [production]}\n"
    )
    with serve(tmp_path / "srv", config) as srv:
        wait_for("an open incident", lambda: bool(_open_incidents(srv)))
        incident = _open_incidents(srv)[0]["id"]
        with playwright_sync.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": PHONE, "height": 800})
                page.set_default_timeout(15000)
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(srv.url + "/dashboard")
                page.fill("#token", TOKEN)
                page.click("button[type=submit]")
                page.wait_for_url(srv.url + "/dashboard")
                for path in ("/dashboard", "/dashboard/incidents"):
                    page.goto(srv.url + path)
                    row = page.locator(f'tr.incident-row[data-incident="{incident}"]')
                    for button in ("button.btn-ack", "button.btn-resolve", "button.btn-silence"):
                        box = row.locator(button).bounding_box()
                        assert _inside(box, PHONE), (path, button, box)
                    assert "[production] shop is down" in row.inner_text()
                    scroll = page.locator("div.scroll:has(table.incidents-table)")
                    assert scroll.evaluate("e => e.scrollWidth <= e.clientWidth"), path
                page.goto(srv.url + "/dashboard")
                row = page.locator(f'tr.incident-row[data-incident="{incident}"]')
                row.locator("button.btn-ack").click()
                page.wait_for_load_state("load")
                acked = (
                    "select count(*) from incidents where id = ? and acknowledged_at is not null"
                )
                wait_for("the acknowledgement", lambda: srv.count(acked, incident) == 1)
                # at a laptop's width the incidents are still a table with its header
                page.set_viewport_size({"width": 1280, "height": 800})
                page.goto(srv.url + "/dashboard")
                assert page.locator("table.incidents-table thead").is_visible()
                headers = page.locator("table.incidents-table thead th").all_inner_texts()
                assert headers[:3] == ["id", "check", "state"], headers
                assert errors == [], errors
            finally:
                browser.close()
