"""Journey: the dashboard's header on a phone. In Chromium at 390 px the header is two rows (the
brand and "Sign out", then the tabs on one row that scrolls sideways), not four rows and 227 px of
the screen before any content; the current tab is scrolled into view, every tab still leads to
its page, and the page itself never scrolls sideways. At 1280 px the header is one row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support.serve_process import TOKEN, serve

CHROMIUM = "/usr/bin/chromium"
TABS = ["Checks", "Incidents", "Logs", "Audit", "Chaos", "Notifications", "Cost"]

playwright_sync = pytest.importorskip("playwright.sync_api")


def test_the_dashboard_header_is_two_rows_on_a_phone(tmp_path: Path) -> None:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    config = f'storage: sqlite:///{{db}}\nserve: {{port: {{port}}, token: "{TOKEN}"}}\nchecks: []\n'
    with serve(tmp_path / "srv", config) as srv, playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 800})
            page.set_default_timeout(15000)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(srv.url + "/dashboard")
            page.fill("#token", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(srv.url + "/dashboard")
            header = page.locator("header.top")
            height = header.evaluate("e => e.getBoundingClientRect().height")
            assert height <= 100, height  # 227 px before: brand, two rows of tabs, Sign out
            tabs = page.locator("nav.tabs a")
            assert tabs.all_inner_texts() == TABS
            tops = {round(box["y"]) for box in (a.bounding_box() or {} for a in tabs.all())}
            assert len(tops) == 1, tops  # one row
            signout = page.locator("form.logout button").bounding_box()
            brand = page.locator("a.brand").bounding_box()
            assert signout and brand and abs(signout["y"] - brand["y"]) < 12
            assert signout["x"] + signout["width"] <= 390
            # the last tab's page: its tab is scrolled into view
            page.goto(srv.url + "/dashboard/cost")
            cost = page.locator("nav.tabs a.active").bounding_box()
            assert cost is not None and cost["x"] >= 0 and cost["x"] + cost["width"] <= 390
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.locator("nav.tabs a", has_text="Checks").click()
            page.wait_for_url(srv.url + "/dashboard")
            page.set_viewport_size({"width": 1280, "height": 800})
            page.reload()
            assert header.evaluate("e => e.getBoundingClientRect().height") <= 64
            assert errors == [], errors
        finally:
            browser.close()
