"""Hostile text in log lines as a user meets it on a page: a right-to-left override (U+202E),
terminal escapes and other control characters in an application log, shown by ``logs digest
--format html`` and by ``serve``'s dashboard. Escaped HTML is not enough: an override left in
reverses the rest of its row on the page (the digest's time and the next finding read backwards, a
"new" badge lands inside the text). Removing them is not enough either: ``nul\x01y`` read ``nuly``,
hiding that the line held something; each shows as a visible, inert mark (``nul␁y``, ``␛[31m``,
``\ufffd`` for the override), in the page's text and as Chromium renders it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from support.cli import prodshield, shell_env
from support.serve_process import TOKEN, serve, signed_in_page, wait_for

RLO, ESC = "\u202e", "\x1b"


def _app_log(path: Path) -> None:
    hour = datetime.now(UTC).strftime("%Y-%m-%d %H")
    path.write_text(
        f"{hour}:00:01,000 INFO shop.web: started\n"
        f"{hour}:00:02,000 ERROR shop.web: user input </textarea><b>x</b> {RLO}evil gnirts\n"
        f"{hour}:00:03,000 ERROR shop.web: render failed {ESC}[31mred{ESC}[0m {ESC}]0;pwned\x07\n"
        f"{hour}:00:04,000 ERROR shop.web: lookup of nul\x01y failed\n",
        encoding="utf-8",
    )


# what the page shows for each: the control pictures of ESC, BEL and SOH, U+FFFD for the override
MARKS = ("\ufffdevil gnirts", "render failed ␛[", ";pwned␇", "nul␁y")


def _clean(page: str) -> None:
    assert RLO not in page and ESC not in page and "\x07" not in page and "\x01" not in page
    assert "<b>x" not in page and "&lt;b&gt;x" in page
    for mark in MARKS:
        assert mark in page, (mark, page)


def _rendered(url: str, selector: str, *, token: str | None = None) -> str:
    """The text Chromium shows in ``selector`` of the page at ``url`` (signed in with ``token``
    through the dashboard's form first)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15000)
            page.goto(url)
            if token is not None:
                page.fill("#token", token)
                page.click("button[type=submit]")
                page.wait_for_url(url)
            return page.locator(selector).inner_text()
        finally:
            browser.close()


def test_digest_page_has_no_override_or_escape(tmp_path: Path) -> None:
    _app_log(tmp_path / "app.log")
    env = shell_env(drop=("PRODSHIELD_",))
    out = prodshield(
        tmp_path, "logs", "digest", "app.log", "--format", "html", "-o", "d.html", env=env
    )
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "d.html").read_text(encoding="utf-8")
    _clean(page)
    assert "evil gnirts" in page
    shown = _rendered((tmp_path / "d.html").as_uri(), "body")
    for mark in MARKS:
        assert mark in shown, (mark, shown)


def _serving_logs(log: Path) -> str:
    """serve's shield.yaml (``{db}``, ``{port}`` filled in by ``serve``) following ``log``."""
    return (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n"
        f"    - {{name: app, path: {log}, format: python}}\n"
    )


def test_dashboard_logs_page_has_no_override_or_escape(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir(parents=True)
    _app_log(tmp_path / "logs" / "app.log")
    config = _serving_logs(tmp_path / "logs" / "app.log")
    with serve(tmp_path / "srv", config) as srv:
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def shown() -> bool:
            body = json.dumps(srv.get("/api/v1/findings", headers=auth).json())
            templates = json.dumps(srv.get("/api/v1/templates", headers=auth).json())
            return "gnirts" in body and "pwned" in body and "nul" in body and "gnirts" in templates

        wait_for("the findings and templates of the hostile lines", shown, timeout=90)
        text = signed_in_page(srv, "/dashboard/logs")
        _clean(text)
        # the text itself is still there, in reading order
        assert re.search(r"evil gnirts", text) and "red" in text
        # the templates' times are when serve read the lines (a log read from its start would
        # show every template "first seen" at serve's start), and the panel says so
        assert (
            "<th title=\"when the log service first read a line of it (not the line's own" in text
        )
        assert (
            ">first read</th>" in text and ">first seen</th>" not in text.split('id="templates"')[1]
        )
        rendered = _rendered(f"http://127.0.0.1:{srv.port}/dashboard/logs", "main", token=TOKEN)
        for mark in MARKS:
            assert mark in rendered, (mark, rendered)


def _row_heights(port: int) -> tuple[float, float]:
    """The findings row and the templates row of the very long line, in Chromium at 1280 px."""
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15000)
            page.goto(base + "/dashboard/logs")
            page.fill("#token", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/dashboard/logs")
            finding = page.locator("table.findings-table tr", has_text="BBBBBBBB").first
            template = page.locator("#templates tr", has_text="BBBBBBBB").first
            assert "more characters]" in finding.inner_text()
            return (
                finding.bounding_box()["height"],  # type: ignore[index]
                template.bounding_box()["height"],  # type: ignore[index]
            )
        finally:
            browser.close()


def test_a_very_long_line_keeps_its_rows_short_on_the_dashboard(tmp_path: Path) -> None:
    """A 200,000-character error line was a 2,000-character message shown whole in its narrow
    column: its findings row 393 px tall at 1280 px, its templates row 561 px (both under 200 now)."""
    (tmp_path / "logs").mkdir(parents=True)
    hour = datetime.now(UTC).strftime("%Y-%m-%d %H")
    (tmp_path / "logs" / "app.log").write_text(
        f"{hour}:00:01,000 INFO shop.web: started\n"
        f"{hour}:00:02,000 ERROR shop.web: {'B' * 200_000}\n"
    )
    config = _serving_logs(tmp_path / "logs" / "app.log")
    with serve(tmp_path / "srv", config) as srv:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        wait_for(
            "the long line's finding",
            lambda: "BBBB" in json.dumps(srv.get("/api/v1/findings", headers=auth).json()),
            timeout=90,
        )
        finding, template = _row_heights(srv.port)
    assert finding < 200 and template < 200, (finding, template)
