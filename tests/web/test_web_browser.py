"""The status page and dashboard in a real browser (Debian's chromium driven by Playwright).

Run against uvicorn on loopback with a seeded SQLite store. Console errors (CSP violations among
them) fail the test; screenshots go to test-artifacts/, and the README's screenshots of the status
page and the dashboard to docs/screenshots/ (so they show what the code renders today).
"""

from __future__ import annotations

import re
import shutil
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
from support.net import loopback_socket
from support.web_seed import TOKEN, loaded_config, seed, seed_history

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MAX_SCREENSHOT = 300 * 1024
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    seed(store)
    seed_history(store)
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
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 60 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", store
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
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


def _readme_shot(page: Any, name: str, height: int = 900) -> None:
    """A PNG for the README (1200 px wide, the top ``height`` px of the page), kept small."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(
        path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": 1200, "height": height}
    )
    assert path.stat().st_size < MAX_SCREENSHOT, f"{name} is {path.stat().st_size} bytes"


def _headline_agrees(page: Any) -> None:
    """The banner never says operational while the page lists an ongoing incident."""
    level = page.locator("#overall").get_attribute("data-level")
    ongoing = page.locator("section.incidents.open article.incident").count()
    if ongoing:
        assert level in ("degraded", "partial_outage", "major_outage"), level
        assert "operational" not in page.locator("#overall h1").inner_text().lower()
        assert f"{ongoing} ongoing incident" in page.locator("#overall").inner_text()
    else:
        assert level in ("operational", "unknown"), level


def _seeded_uptime(now: float, first: int) -> float:
    """The uptime of the seed's website@production since ``first``: the hours before the first
    raw result (``seed_history``'s, 3 hours back) from the aggregates (120 results an hour, a
    failure in every 20th hour back from now), the rest from the 180 raw results (3 failures).
    The 7-day window is seven calendar days (UTC), so its figure depends on the time of day."""
    hour = int(now) // 3600 * 3600
    raw_from = hour - 3 * 3600
    hours = [h for h in range(30 * 24) if first <= hour - h * 3600 < raw_from]
    failures = sum(1 for h in hours if h % 20 == 0) + 3
    return 100.0 * (1 - failures / (120 * len(hours) + 180))


def _no_negative_duration(page: Any) -> None:
    texts = page.locator(".duration").all_inner_texts()
    assert texts, "no durations on the page"
    for text in texts:
        assert "-" not in text, text


def test_status_page_renders_checks_incident_and_charts(page: Any, site: tuple[str, Store]) -> None:
    base, store = site
    page.goto(base + "/")
    # staging's website is down with an incident open: one of the 5 services, 3 of them known
    assert page.locator("#overall h1").inner_text() == "Partial outage"
    assert page.locator("#overall .headline-detail").inner_text() == (
        "1 of 5 services down · 1 ongoing incident"
    )
    _headline_agrees(page)
    services = page.locator("article.service")
    names = services.locator("h3").all_inner_texts()
    assert any(n.startswith("Website") for n in names) and any(n.startswith("API") for n in names)
    ongoing = page.locator("section.incidents.open article.incident")
    assert ongoing.count() == 1 and "website" in ongoing.inner_text()
    assert ongoing.locator(".pill.kind").inner_text() == "down"
    assert "ongoing for 1h 30m" in ongoing.inner_text()
    past = page.locator("section.incidents.past article.incident")
    assert past.count() == 2 and "lasted 12m" in past.nth(1).inner_text()
    # an incident a bad clock closed before it opened shows 0s, never "-80s"
    assert past.nth(0).locator(".pill.kind").inner_text() == "flapping"
    assert "lasted 0s" in past.nth(0).inner_text()
    _no_negative_duration(page)
    website = page.locator('article.service[data-service="Website"][data-environment="production"]')
    now = time.time()
    hour, today = int(now) // 3600 * 3600, int(now) // 86400 * 86400
    day, week, month = (
        _seeded_uptime(now, first)
        for first in (hour - 23 * 3600, today - 6 * 86400, today - 29 * 86400)
    )
    assert website.locator(".svc-uptime").inner_text() == (
        f"uptime 24 h {day:.2f}% · 7 d {week:.2f}% · 30 d {month:.2f}%"
    )
    bars = website.locator("svg.bars rect")
    assert bars.count() == 90
    assert website.locator("svg.bars rect.bar-ok").count() >= 25
    box = website.locator("svg.bars").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 20
    # response time: raw results of the last hours (a point each few minutes), hourly before
    chart = website.locator("svg.response")
    points = chart.locator("circle.pt")
    assert points.count() >= 27
    hourly = [p for p in points.locator("title").all_text_contents() if p.endswith("(hourly)")]
    # 22-23 hours of aggregates, then the last 1-2 hours from raw results in 12-minute buckets
    assert 21 <= len(hourly) <= 23 and points.count() - len(hourly) >= 5
    assert chart.locator("circle.pt.bad").count() >= 1
    ticks = chart.locator("text.tick.y").all_text_contents()
    assert ticks[0] == "0 ms" and all(t.endswith(" ms") for t in ticks)
    assert chart.locator("text.tick.x").last.text_content().endswith("UTC")
    title = points.last.locator("title").text_content()
    # the time to the second, the value with its unit
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: (mean )?\d+(\.\d)? ms", title), title
    chart_box = chart.bounding_box()
    assert chart_box and chart_box["width"] > 400 and chart_box["height"] > 80
    # heartbeat bar: the last 30 results, coloured, newest on the right
    beats = website.locator("svg.beats rect.beat")
    assert beats.count() == 30
    assert website.locator("svg.beats rect.beat.up").count() == 30
    assert "ok, " in beats.last.locator("title").text_content()
    assert " ms" in beats.last.locator("title").text_content()
    # the stylesheet applied (CSP allows 'self'): bars are coloured, not black
    fill = bars.last.evaluate("e => getComputedStyle(e).fill")
    assert fill not in ("rgb(0, 0, 0)", "")
    page.screenshot(path=str(ARTIFACTS / "status-page.png"), full_page=True)
    _readme_shot(page, "status.png", 1500)
    assert page.console_errors == []
    # the checks pass again but the incident is still open (success threshold not reached yet):
    # the headline says degraded, not "All systems operational"
    with store.begin() as conn:
        conn.execute(
            t.check_state.update()
            .where(t.check_state.c.environment == "staging")
            .values(status="up", last_ok=True)
        )
    page.goto(base + "/?fresh=1")
    page.wait_for_timeout(10)
    for _ in range(60):  # the page is cached for up to 5 s
        page.goto(base + "/")
        if page.locator("#overall").get_attribute("data-level") != "partial_outage":
            break
        page.wait_for_timeout(200)
    assert page.locator("#overall h1").inner_text() == "Degraded service"
    _headline_agrees(page)
    staging = page.locator('article.service[data-service="Website"][data-environment="staging"]')
    assert staging.locator(".svc-head .pill").inner_text() == "degraded"
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
    assert "ongoing for 1h 30m" in row.locator("td.duration").inner_text()
    assert row.locator(".pill.kind").inner_text() == "down"
    # a heartbeat bar per check: the last 20 results, coloured
    website = page.locator('tr[data-check="website"][data-environment="production"]')
    assert website.locator("svg.beats rect.beat.up").count() == 20
    staging = page.locator('tr[data-check="website"][data-environment="staging"]')
    assert staging.locator("svg.beats rect.beat.down").count() == 1
    assert "failed: refused" in staging.locator("rect.beat.down title").text_content()
    # a check with an open incident says so next to its state
    assert staging.locator("a.open-incident").inner_text() == "incident #1"
    assert website.locator("a.open-incident").count() == 0
    assert TOKEN not in page.content()
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    _readme_shot(page, "dashboard.png")
    row.locator("button.btn-ack").click()
    page.wait_for_selector("tr.incident-row .pill.s-ack")
    with store.connect() as conn:
        acked = conn.execute(
            select(t.incidents.c.acknowledged_by).where(t.incidents.c.status == "open")
        ).scalar_one()
    assert acked == "operator"
    # a note through the form, then the check page with its condition values and charts
    page.goto(base + "/dashboard/incidents")
    page.fill("tr.incident-row .note-form input[name=text]", "restarting the pod")
    page.click("tr.incident-row .note-form button")
    page.wait_for_selector("text=restarting the pod")
    page.goto(base + "/dashboard/incidents")
    _no_negative_duration(page)
    assert "0s" in page.locator("tr.incident-row:has(.pill.k-flapping) td.duration").inner_text()
    page.goto(base + "/dashboard/checks/website")
    assert page.locator("table.results-table").first.locator("th code").count() == 2
    assert page.locator("svg.bars").count() == 2
    prod = page.locator('section.env-card[data-environment="production"]')
    recent = prod.locator(".recent-box svg.response circle.pt")
    assert recent.count() >= 100  # 3 hours of results a minute apart, about 120 buckets
    # the 3 failed results show in red (a mark when a bucket holds only failures)
    marks = prod.locator(".recent-box svg.response").locator("rect.fail-mark, circle.pt.bad")
    assert 2 <= marks.count() <= 3
    assert prod.locator("td.cond-ok").nth(1).inner_text() == "40 ms"
    assert prod.locator(".recent-box text.tick.y").first.text_content() == "0 ms"
    # beyond the hours: one point a day from the aggregates, dated on the axis
    month = prod.locator(".month-box svg.response")
    assert month.locator("circle.pt").count() == 30
    assert month.locator("circle.pt title").first.text_content().endswith("(day)")
    assert re.fullmatch(r"\d\d-\d\d", month.locator("text.tick.x").first.text_content())
    # times to the second, response times with their unit
    first_time = prod.locator("table.results-table td time").first.inner_text()
    assert first_time.endswith(" UTC") and first_time.count(":") == 2
    assert prod.locator("table.results-table td.num").first.inner_text().endswith(" ms")
    page.screenshot(path=str(ARTIFACTS / "check.png"), full_page=True)
    _readme_shot(page, "check.png")
    for tab in ("logs", "audit", "chaos", "notifications", "cost"):
        page.goto(f"{base}/dashboard/{tab}")
        assert page.locator("h1").count() == 1
    assert "Gate failed" in page.goto(f"{base}/dashboard/audit").text()
    # rule ids are words: on a laptop-narrow window they stay on one line, never split mid-word
    page.set_viewport_size({"width": 900, "height": 900})
    rules = page.locator("table.grid code.rule-id")
    assert "config.placeholder-secret-key" in rules.all_inner_texts()
    for i in range(rules.count()):
        assert rules.nth(i).evaluate("e => e.getClientRects().length") == 1
    page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)
    page.set_viewport_size({"width": 1200, "height": 900})
    assert page.console_errors == []


def _login(page: Any, base: str, path: str) -> None:
    page.goto(base + path)
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(base + path)


def test_digest_panel_renders_and_failed_runs_are_red(page: Any, site: tuple[str, Store]) -> None:
    base, _ = site
    _login(page, base, "/dashboard/logs")
    panel = page.locator("section.digest-panel")
    assert "generated 2026-12-04 21:00:00 UTC" in panel.locator("p.muted").inner_text()
    assert panel.locator("h3").first.inner_text() == "Daily log digest"
    assert panel.locator("h4").all_inner_texts()[:2] == ["Critical alerts", "Security"]
    tables = panel.locator("table")
    assert tables.count() == 2
    assert tables.nth(1).locator("th").all_inner_texts()[:2] == ["endpoint", "requests"]
    assert tables.nth(1).locator("td").nth(3).inner_text() == "31 ms"
    assert "|" not in panel.inner_text().replace("5xx", "")
    # a log line quoted in the digest stays text: no script ran, the tag shows as written
    assert "<script>window.pwned=1</script>" in panel.inner_text()
    assert page.evaluate("window.pwned") is None
    assert panel.locator("a").count() == 0  # a link written in a log line is not clickable
    # a long sample opens in full
    sample = page.locator("td.sample details").first
    assert sample.locator("summary").get_attribute("title").startswith("Failed password")
    sample.locator("summary").click()
    assert sample.locator("pre.sample-full").is_visible()
    assert "critical patterns" in page.locator("table.findings-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "logs.png"), full_page=True)
    page.goto(base + "/dashboard/chaos")
    page.screenshot(path=str(ARTIFACTS / "chaos.png"))
    red = "rgb(180, 35, 24)"
    for title in ("payments survive a slow database", "cache outage"):
        pill = page.locator(f'tr.journal:has-text("{title}") .pill')
        assert "failed" in pill.inner_text()
        assert pill.evaluate("e => getComputedStyle(e).color") == red
    ok = page.locator('tr.journal:has-text("database drops connections") .pill')
    assert ok.evaluate("e => getComputedStyle(e).color") != red
    page.goto(base + "/dashboard/cost")
    page.screenshot(path=str(ARTIFACTS / "cost.png"), full_page=True)
    growth = page.locator("#store-growth").inner_text()
    assert "store growth / day" in growth and "over the last 2h 59m" in growth
    # run under serve, no Actions workflow next to shield.yaml: no 5-minute warning
    assert "No workflow running" in page.locator("#actions").inner_text()
    assert "GitHub Actions it runs every 5m" not in page.content()
    assert page.console_errors == []


def test_no_dashboard_page_is_wider_than_a_laptop_window(
    page: Any, site: tuple[str, Store]
) -> None:
    """At 1280 px nothing scrolls sideways: long log samples, messages and forms fold or cut."""
    base, store = site
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, base, "/dashboard")
    now = time.time()
    long_path = "/api/orders/" + "9f" * 120 + "?token=" + "x" * 300
    with store.begin() as conn:  # what a real access log gives: one long unbroken word
        conn.execute(
            t.log_findings.insert().values(
                fingerprint="fp-long", category="performance", kind="slow_request",
                severity="medium", count=3, first_seen=now - 60, last_seen=now - 30,
                created_at=now - 60, updated_at=now - 30,
                message=f"slow request GET {long_path} took 4.2 s",
                samples=[f'10.0.0.1 - - "GET {long_path} HTTP/1.1" 200 512 "-" "curl/8"'],
                source={"endpoint": f"GET {long_path}"},
            )
        )  # fmt: skip
    with store.connect() as conn:
        ids = [r[0] for r in conn.execute(select(t.incidents.c.id)).all()]
    paths = ["/dashboard", "/dashboard/logs", "/dashboard/checks/website", "/dashboard/audit"]
    paths += [f"/dashboard/incidents/{i}" for i in ids] + ["/"]
    wide = {}
    for path in paths:
        page.goto(base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 1280:
            wide[path] = width
    assert wide == {}, wide
    # a list keeps one line per resolved incident: its forms are on its own page, full width
    page.goto(base + "/dashboard/incidents")
    resolved = page.locator("tr.incident-row:has(.pill.s-up)")
    assert resolved.count() >= 1
    assert resolved.locator("form").count() == 0
    assert resolved.first.locator("a.incident-more").count() == 1
    resolved.first.locator("a.incident-more").click()
    for form in (".note-form", ".update-form", ".postmortem-form"):
        box = page.locator(f"{form} input:not([type=hidden])").bounding_box()
        assert box is not None and box["width"] > 400, (form, box)


# Every word of 13 characters or fewer in a table cell (a header, a count, a date, a check name, a
# finding's kind) on one line; longer words (paths, URLs, tokens) may fold. Text inside closed
# <details> or SVG titles has no boxes and is skipped.
_SPLIT_WORDS = """() => {
  const split = [];
  for (const cell of document.querySelectorAll('table.grid th, table.grid td')) {
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const el = n.parentElement;  // skip text cut to one line, and text of a closed <details>
      if (getComputedStyle(el).textOverflow === 'ellipsis' || !el.checkVisibility()) continue;
      for (const m of n.textContent.matchAll(/\\S+/g)) {
        if (m[0].length > 13) continue;
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        const tops = new Set([...r.getClientRects()].filter(b => b.width > 0).map(b => Math.round(b.top)));
        if (tops.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


# The text of every visible chart (axis labels, "no results yet"), with its size on the screen:
# the font size times the SVG's scale (a viewBox scaled to a phone's width shrinks its text), and
# whether it overlaps another text of its chart.
_CHART_TEXT = """() => [...document.querySelectorAll('svg.chart')].flatMap(svg => {
  const texts = [...svg.querySelectorAll('text')].filter(t => t.checkVisibility());
  const boxes = texts.map(t => t.getBoundingClientRect());
  return texts.map((t, i) => ({
    text: t.textContent,
    px: Math.round(t.getScreenCTM().a * parseFloat(getComputedStyle(t).fontSize) * 10) / 10,
    overlaps: boxes.some((b, j) => j !== i && b.left < boxes[i].right && boxes[i].left < b.right
                                  && b.top < boxes[i].bottom && boxes[i].top < b.bottom),
  }));
})"""


def test_pages_are_readable_on_a_laptop_and_a_phone(page: Any, site: tuple[str, Store]) -> None:
    """At 1280 px and at a phone's 390 px no table cuts a short word across lines ("co / u / nt",
    "# / 2", a count of 40 read as 4), and no page scrolls sideways: a table too wide for a phone
    scrolls inside its own box, the status page's uptime line folds under its service's name.
    Chart axis labels are drawn at 10 px or more on the screen, without overlapping."""
    base, store = site
    _login(page, base, "/dashboard")
    with store.connect() as conn:
        ids = [r[0] for r in conn.execute(select(t.incidents.c.id)).all()]
    tabs = ["", "/incidents", "/logs", "/audit", "/chaos", "/notifications", "/cost"]
    paths = ["/"] + [f"/dashboard{x}" for x in tabs] + ["/dashboard/checks/website"]
    paths += [f"/dashboard/incidents/{ids[0]}"]
    problems: dict[str, Any] = {}
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            page.goto(base + path)
            split = page.evaluate(_SPLIT_WORDS)
            if split:
                problems[f"{width} {path} split"] = sorted(set(split))[:8]
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                problems[f"{width} {path} scrollWidth"] = scroll
            # on a laptop no table needs its scroll box
            boxes = "[...document.querySelectorAll('div.scroll')].filter(e => e.scrollWidth > e.clientWidth).length"
            if width == 1280 and page.evaluate(boxes):
                problems[f"{width} {path} scrolling tables"] = page.evaluate(boxes)
            texts = page.evaluate(_CHART_TEXT)
            if path in ("/", "/dashboard/checks/website") and not texts:
                problems[f"{width} {path} chart text"] = "none"
            small = sorted({(x["text"], x["px"]) for x in texts if x["px"] < 10})
            if small:
                problems[f"{width} {path} chart text under 10 px"] = small[:6]
            overlapping = sorted({x["text"] for x in texts if x["overlaps"]})
            if overlapping:
                problems[f"{width} {path} chart text overlapping"] = overlapping[:6]
        page.screenshot(path=str(ARTIFACTS / f"logs-{width}.png"), full_page=True)
    assert problems == {}, problems
    # the phone reads what a log finding says without scrolling sideways: the message of the first
    # finding lies inside the screen (it started off-screen, to the right of severity, area, kind)
    page.goto(base + "/dashboard/logs")
    message = page.locator("table.findings-table tbody tr").first.locator("td.message")
    assert message.inner_text().startswith("Out of memory: killed process 4242")
    box = message.bounding_box()
    assert box is not None and box["width"] > 200, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    scroll = page.locator("div.scroll:has(table.findings-table)")
    assert scroll.evaluate("e => e.scrollWidth <= e.clientWidth")
    page.screenshot(path=str(ARTIFACTS / "logs-findings-390.png"), full_page=True)
    # on a laptop it is still a table with its header, the message in the fourth column
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base + "/dashboard/logs")
    assert page.locator("table.findings-table thead th").nth(3).inner_text() == "message"
    assert page.locator("table.findings-table thead").is_visible()
    row = page.locator("table.findings-table tbody tr").first.bounding_box()
    assert row is not None and row["height"] < 120, row
    page.screenshot(path=str(ARTIFACTS / "logs-findings-1280.png"), full_page=True)
    assert page.console_errors == []


# Where each of ``words`` shows in the page's tables: each occurrence on one line, or not.
_WHOLE_WORDS = """(words) => {
  const split = [];
  let seen = 0;
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.parentElement.checkVisibility()) continue;
    for (const w of words) {
      for (let at = n.textContent.indexOf(w); at >= 0; at = n.textContent.indexOf(w, at + 1)) {
        seen += 1;
        const r = document.createRange();
        r.setStart(n, at);
        r.setEnd(n, at + w.length);
        const tops = new Set([...r.getClientRects()].filter(b => b.width > 0).map(b => Math.round(b.top)));
        if (tops.size > 1) split.push(w);
      }
    }
  }
  return {seen, split};
}"""


def test_condition_headers_and_subjects_are_never_broken_mid_word(
    page: Any, site: tuple[str, Store]
) -> None:
    """The check page's condition header read `[CERTIFICATE_EXPIRATIO` / `N] > 7d` and
    `[BODY].status == U` / `P`, the Notifications page's subject `incident:web:producti` / `on`,
    and the incident page's Timeline card had an empty band above its heading. At a laptop's and
    a phone's width the placeholders and subjects now stay whole (a table too wide scrolls in its
    box), and a card's heading starts at the card's padding."""
    base, store = site
    now = time.time()
    exprs = [
        "[CERTIFICATE_EXPIRATION] > 7d",
        "[BODY].status == UP",
        "[STATUS] == 200",
        "[RESPONSE_TIME] < 500",
        "[CONNECTED] == true",
    ]
    with store.begin() as conn:
        conn.execute(
            t.check_results.insert().values(
                check_name="website", environment="production", ts=now - 5, ok=False,
                response_time_ms=12.0, error_kind="condition",
                error_message="the certificate expires in 4d23h",
                conditions=[{"expr": x, "ok": False, "actual": "4d23h"} for x in exprs],
            )
        )  # fmt: skip
        conn.execute(
            t.outbox.insert().values(
                idempotency_key="k-subject", notifier="hook", event_type="incident.opened",
                subject="incident:web:production", payload={}, status="sent", attempts=1,
                next_attempt_at=now, created_at=now - 20, sent_at=now - 19,
            )
        )  # fmt: skip
        incident = conn.execute(select(t.incidents.c.id)).first()
    assert incident is not None
    shots = Path("/tmp/webfix-shots")
    shots.mkdir(exist_ok=True)
    _login(page, base, "/dashboard")
    words = ["[CERTIFICATE_EXPIRATION]", "[BODY].status", "incident:web:production"]
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        found: dict[str, Any] = {}
        for name, path in (
            ("check", "/dashboard/checks/website"),
            ("notes", "/dashboard/notifications"),
        ):
            page.goto(base + path)
            page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
            found[path] = page.evaluate(_WHOLE_WORDS, words)
        assert found["/dashboard/checks/website"]["seen"] >= 2, found
        assert found["/dashboard/notifications"]["seen"] >= 1, found
        assert all(not f["split"] for f in found.values()), (width, found)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.goto(f"{base}/dashboard/incidents/{incident[0]}")
        page.screenshot(path=str(shots / f"incident-{width}.png"), full_page=True)
        band = page.evaluate(
            """() => [...document.querySelectorAll('section.card > h2:first-child')].map(h =>
                 h.getBoundingClientRect().top - h.parentElement.getBoundingClientRect().top)"""
        )
        assert band and all(gap <= 20 for gap in band), band
