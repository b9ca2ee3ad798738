"""The status page and the dashboard agree with the incidents while a target fails periodically.

The journey: a loopback HTTP target answers 503 for 4 s of every 9 s; `prodshield serve` checks it
every second (incidents after 2 failures, resolved after 2 successes). Chromium reads the public
status page and the dashboard's incidents page, as a visitor and an operator would, through at
least two outage windows: whenever the page lists an ongoing incident the headline is not
"operational" (and says how many are ongoing), whenever it lists none it does not claim an
outage it cannot show, and no duration anywhere is negative.
"""

from __future__ import annotations

import re
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from support.net import refused_port
from support.serve import TOKEN, get, start_with_token, stop_serve, wait_ready
from support.standins.periodic_target import PeriodicTarget

CHROMIUM = "/usr/bin/chromium"
PERIOD, OUTAGE = 9.0, 4.0

playwright_sync = pytest.importorskip("playwright.sync_api")


def _check_status_page(page: Any) -> int:
    """Assert the status page agrees with itself; return how many incidents it lists ongoing."""
    level = page.locator("#overall").get_attribute("data-level")
    title = page.locator("#overall h1").inner_text()
    ongoing: int = page.locator("section.incidents.open article.incident").count()
    if ongoing:
        assert level in ("degraded", "partial_outage", "major_outage"), (level, ongoing)
        assert "operational" not in title.lower()
        assert f"{ongoing} ongoing incident" in page.locator("#overall").inner_text()
    else:
        # no incident (yet): failing checks are "degraded" at worst, never an outage
        assert level in ("operational", "degraded", "unknown"), level
        if level == "operational":
            assert title == "All systems operational"
    for text in page.locator(".duration").all_inner_texts():
        assert "-" not in text, text
    for text in page.locator("section.incidents.open .duration").all_inner_texts():
        assert text.startswith("ongoing for "), text
    return ongoing


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_status_headline_matches_open_incidents_and_no_duration_is_negative(
    tmp_path: Path,
) -> None:
    target = PeriodicTarget(PERIOD, OUTAGE)
    config = tmp_path / "shield.yaml"
    config.write_text(
        f"""
storage: "sqlite:///{tmp_path / "store.db"}"
serve: {{title: "Shop status", token: "{TOKEN}"}}
defaults: {{failure_threshold: 2, success_threshold: 2}}
environments:
  production: {{vars: {{base: "{target.url}/api/orders"}}}}
checks:
  - name: orders
    type: http
    url: "{{base}}"
    environments: [production]
    interval: 1s
    timeout: 1s
    conditions: ["[STATUS] == 200"]
  - name: home
    type: http
    url: "{target.url}/"
    interval: 30s
    timeout: 2s
    conditions: ["[STATUS] < 600"]
"""
    )
    served = start_with_token(config, TOKEN)
    proc, port, base = served.proc, served.port, served.base
    try:
        wait_ready(port, proc)
        with playwright_sync.sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox"], timeout=30000
            )
            try:
                page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                page.set_default_timeout(15000)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                # through at least two outage windows: the page agrees with itself every time
                seen_ongoing = seen_clear_after = 0
                deadline = time.time() + 3 * PERIOD + 60
                while time.time() < deadline:
                    page.goto(base + "/")
                    ongoing = _check_status_page(page)
                    if ongoing:
                        seen_ongoing += 1
                    elif seen_ongoing:
                        seen_clear_after += 1
                    resolved = get(port, "/api/v1/incidents?status=resolved")["incidents"]
                    if seen_ongoing >= 2 and seen_clear_after and len(resolved) >= 2:
                        break
                    time.sleep(1.0)
                assert seen_ongoing, "the status page never showed the ongoing incident"
                incidents = get(port, "/api/v1/incidents")["incidents"]
                assert len([i for i in incidents if i["status"] == "resolved"]) >= 2, incidents
                for i in incidents:
                    assert i["duration_s"] >= 0, i
                    if i["resolved_at"] is not None:
                        assert i["resolved_at"] >= i["opened_at"], i
                # the past incidents on the status page, then the dashboard's incidents page
                # (the page is cached for up to 5 s: wait for it to catch up with the API)
                past = page.locator("section.incidents.past article.incident")
                for _ in range(40):
                    page.goto(base + "/")
                    _check_status_page(page)
                    if past.count() >= 2:
                        break
                    time.sleep(0.5)
                assert past.count() >= 2
                # a minute after the start the chart already shows the results it has, on an
                # axis to the second, and the heartbeat bar has red and green results
                orders = page.locator('article.service[data-service="orders"]')
                chart = orders.locator("svg.response")
                assert int(chart.get_attribute("data-points")) >= 10
                tick = chart.locator("text.tick.x").first.text_content()
                assert tick.count(":") == 2, tick
                assert orders.locator("svg.beats rect.beat.down").count() >= 1
                assert orders.locator("svg.beats rect.beat.up").count() >= 1
                page.goto(base + "/login?next=/dashboard/incidents")
                page.fill("#token", TOKEN)
                page.click("button[type=submit]")
                page.wait_for_url(base + "/dashboard/incidents")
                rows = page.locator("tr.incident-row")
                assert rows.count() >= 2
                for text in page.locator("td.duration").all_inner_texts():
                    assert "-" not in text, text
                kinds = set(page.locator("tr.incident-row .pill.kind").all_inner_texts())
                assert kinds and kinds <= {"down", "flapping"}, kinds
                assert errors == []
            finally:
                browser.close()
    finally:
        stop_serve(proc, timeout=20)
        target.close()


def test_a_failure_below_the_threshold_is_not_an_outage(tmp_path: Path) -> None:
    """Newcomer trial: one failed probe put "Partial outage · 1 of 4 services down" on the public
    page while `failure_threshold` (3) had not been reached and no incident was open. A check
    failing below its threshold makes its service "degraded"; the outage headline waits for the
    incident, and comes with it."""
    target = PeriodicTarget(PERIOD, OUTAGE)
    dead = f"http://127.0.0.1:{refused_port()}/"  # held, not listening: every probe fails
    config = tmp_path / "shield.yaml"
    config.write_text(
        f"""
storage: "sqlite:///{tmp_path / "store.db"}"
serve: {{title: "Shop status", token: "{TOKEN}"}}
checks:
  - {{name: payments, type: http, url: "{dead}", interval: 1s, timeout: 1s,
     failure_threshold: 1000, conditions: ["[STATUS] == 200"]}}
  - {{name: home, type: http, url: "{target.url}/", interval: 30s,
     timeout: 2s, conditions: ["[STATUS] < 600"]}}
"""
    )
    served = start_with_token(config, TOKEN)
    proc, port, base = served.proc, served.port, served.base
    try:
        wait_ready(port, proc)
        deadline = time.time() + 60
        while time.time() < deadline:  # the page is cached for up to 5 s
            checks = get(port, "/api/v1/checks")["checks"]
            payments = next(c for c in checks if c["name"] == "payments")
            if payments["consecutive_failures"] >= 2:
                with urllib.request.urlopen(base + "/?n=" + str(time.time()), timeout=10) as r:
                    html = r.read().decode()
                if 'data-service="payments"' in html and "degraded" in html:
                    break
            time.sleep(0.5)
        assert payments["status"] == "down" and payments["open_incident"] is None, payments
        assert get(port, "/api/v1/incidents?status=open")["incidents"] == []
        level = re.search(r'id="overall" data-level="([a-z_]+)"', html)
        assert level and level[1] == "degraded", html[:2000]
        assert "Partial outage" not in html and "Major outage" not in html
        assert "1 degraded" in html
    finally:
        stop_serve(proc, timeout=20)
        target.close()
