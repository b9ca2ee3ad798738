"""Journey (newcomer review 3, item 18): on a 1280 px laptop, once an incident was acknowledged
and silenced (its state cell holding `silenced until 2026-12-07 06:39:00 UTC`), the incidents
table was 1144 px wide in a 1060 px wrapper and the Silence, Add note and Post update buttons
sat past `main`'s right edge, half hidden until the table was scrolled sideways. ``serve`` (a
subprocess) opens an incident; in Chromium at 1280 px it is acknowledged and silenced from the
page, and every action of its row stays inside the table's box, with no sideways scroll."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.serve_process import TOKEN, Served, serve, wait_for

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

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
    return [i for i in answer.json()["incidents"] if i["status"] == "open"]


@pytest.mark.parametrize("width", [1280, 1024])
def test_a_silenced_incidents_actions_fit_a_laptop(
    tmp_path: Path, refusing_port: int, width: int
) -> None:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "environments: {production: {}}\n"
        "defaults: {interval: 1s, timeout: 2s, failure_threshold: 1}\n"
        "checks:\n"
        f"  - {{name: checkout-frontend, type: tcp, host: 127.0.0.1, port: {refusing_port}, "
        "environments: [production]}\n"
    )
    with serve(tmp_path / "srv", config) as srv:
        wait_for("an open incident", lambda: bool(_open_incidents(srv)))
        incident = _open_incidents(srv)[0]["id"]
        with playwright_sync.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.set_default_timeout(15000)
                page.goto(srv.url + "/dashboard/incidents")
                page.fill("#token", TOKEN)
                page.click("button[type=submit]")
                page.wait_for_url(srv.url + "/dashboard/incidents")
                row = page.locator(f'tr.incident-row[data-incident="{incident}"]')
                row.locator("button.btn-ack").click()
                page.wait_for_load_state("load")
                acked = (
                    "select count(*) from incidents where id = ? and acknowledged_at is not null"
                )
                wait_for("the acknowledgement", lambda: srv.count(acked, incident) == 1)
                page.goto(srv.url + "/dashboard/incidents")
                row = page.locator(f'tr.incident-row[data-incident="{incident}"]')
                row.locator(".silence-form input[name=text]").fill("deploy in progress")
                row.locator("button.btn-silence").click()
                page.wait_for_load_state("load")
                wait_for("the silence", lambda: srv.count("select count(*) from silences") == 1)
                page.goto(srv.url + "/dashboard/incidents")
                row = page.locator(f'tr.incident-row[data-incident="{incident}"]')
                assert row.locator(".pill.s-silenced").is_visible()
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"incidents-silenced-{width}.png"))
                scroll = page.locator("div.scroll:has(table.incidents-table)")
                sizes = scroll.evaluate("e => [e.scrollWidth, e.clientWidth]")
                assert sizes[0] <= sizes[1], sizes
                box = scroll.bounding_box()
                assert box is not None
                for button in row.locator(".incident-actions button").all():
                    b = button.bounding_box()
                    assert b is not None and b["x"] + b["width"] <= box["x"] + box["width"], (
                        button.inner_text(),
                        b,
                        box,
                    )
            finally:
                browser.close()
