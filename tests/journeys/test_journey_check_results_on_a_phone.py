"""Journey: on a phone, a check's page tells what its target answered. ``serve`` (a subprocess)
checks a loopback target that answers 503; in Chromium at 390 px each recent result is a card
whose condition values (``[STATUS] == 200 → 503``) are on the screen, after their expression (the
results table scrolled sideways and the values were cut off at the right); at 1280 px it is still
a table with its header."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aiohttp import web

from support.serve_process import TOKEN, Served, serve, wait_for
from support.standins.loopback_app import serve_app

CHROMIUM = "/usr/bin/chromium"
PHONE = 390

playwright_sync = pytest.importorskip("playwright.sync_api")


def _results(srv: Served) -> int:
    return srv.count("select count(*) from check_results")


def test_a_checks_condition_values_are_read_on_a_phone(tmp_path: Path) -> None:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "DOWN"}, status=503)

    def setup(app: web.Application) -> None:
        app.router.add_get("/health", health)

    with serve_app(setup) as url:
        config = (
            "storage: sqlite:///{db}\n"
            f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
            "defaults: {interval: 1s, timeout: 2s}\n"
            "checks:\n"
            f"  - name: shop\n    type: http\n    url: {url}/health\n"
            '    conditions: ["[STATUS] == 200", "[BODY].status == UP"]\n'
        )
        with serve(tmp_path / "srv", config) as srv:
            wait_for("two results", lambda: _results(srv) >= 2)
            with playwright_sync.sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                try:
                    page = browser.new_page(viewport={"width": PHONE, "height": 800})
                    page.set_default_timeout(15000)
                    page.goto(srv.url + "/dashboard/checks/shop")
                    page.fill("#token", TOKEN)
                    page.click("button[type=submit]")
                    page.wait_for_url(srv.url + "/dashboard/checks/shop")
                    row = page.locator("table.results-table tbody tr").first
                    for expr, value in (
                        ("[STATUS] == 200", "503"),
                        ("[BODY].status == UP", "DOWN"),
                    ):
                        cell = row.locator(f'td[data-label="{expr}"]')
                        assert cell.inner_text() == value
                        box = cell.bounding_box()
                        assert (
                            box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE
                        )
                        label = cell.evaluate("e => getComputedStyle(e, '::before').content")
                        assert expr in label, label
                    scroll = page.locator("div.scroll:has(table.results-table)")
                    assert scroll.evaluate("e => e.scrollWidth <= e.clientWidth")
                    page.set_viewport_size({"width": 1280, "height": 800})
                    page.goto(srv.url + "/dashboard/checks/shop")
                    assert page.locator("table.results-table thead").is_visible()
                    heads = page.locator("table.results-table thead th").all_inner_texts()
                    assert heads[:3] == ["time", "result", "response"], heads
                finally:
                    browser.close()
