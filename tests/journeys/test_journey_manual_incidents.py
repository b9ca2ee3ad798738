"""Manual incidents, as an operator meets them: what no check sees (a payment provider's delay)
is opened from the CLI, updated, resolved and linked to its post-mortem; a second one goes
through the API, a third through the dashboard's form. ``serve``'s public status page and its
Atom feed (parsed by feedparser) show each, and an environment's status and uptime badges render
in Chromium."""

from __future__ import annotations

import http.cookiejar
import json
import re
import shutil
import socket
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import feedparser
import pytest

from support.cli import prodshield, wide_env
from support.net import wait_until
from support.serve import read_bound, start_serve, stop_serve

TOKEN = "journey-token-0123456789abcdef"
CHROMIUM = "/usr/bin/chromium"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=wide_env())


class Listener:
    """A TCP port that accepts connections (the check's target: production is up)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        self.sock.close()


def _call(port: int, path: str, body: Any = None, opener: Any = None, auth: bool = True) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {TOKEN}"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    with (opener or urllib.request.build_opener()).open(req, timeout=10) as r:
        raw = r.read()
    return json.loads(raw) if path.startswith("/api") else raw.decode()


def _login(port: int) -> tuple[Any, str]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"http://127.0.0.1:{port}/login", timeout=10) as r:
        form = r.read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    data = urllib.parse.urlencode({"token": TOKEN, "csrf": csrf.group(1), "next": "/dashboard"})
    with opener.open(f"http://127.0.0.1:{port}/login", data=data.encode(), timeout=10) as r:
        assert r.status == 200
    with opener.open(f"http://127.0.0.1:{port}/dashboard/incidents", timeout=10) as r:
        page = r.read().decode()
    found = re.search(
        r'action="/dashboard/incidents/open".*?name="csrf" value="([^"]+)"', page, re.S
    )
    assert found, "the incidents page has the form to open one by hand"
    return opener, found.group(1)


def test_manual_incidents_from_cli_api_and_dashboard_reach_the_page_and_feed(
    tmp_path: Path,
) -> None:
    target = Listener()
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        "environments: {production: {}}\n"
        "defaults: {interval: 1s, timeout: 2s}\n"
        "checks:\n"
        f"  - {{name: shop, type: tcp, host: 127.0.0.1, port: {target.port}, "
        "environments: [production]}\n"
    )
    opened = _cli(
        tmp_path, "incident", "open", "Card payments are delayed", "--service", "payments",
        "--env", "production", "--text", "Our card processor answers slowly; we are on it.",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    cli_id = int(re.search(r"incident #(\d+) opened", opened.stdout).group(1))  # type: ignore[union-attr]

    bad = _cli(tmp_path, "incident", "open", "x", "--service", "../../etc")
    assert bad.returncode != 0 and "bad service name" in (bad.stderr + bad.stdout)
    assert "Traceback" not in bad.stderr
    typo = _cli(tmp_path, "incident", "open", "x", "--service", "payments", "--env", "prod")
    assert typo.returncode != 0 and "no environment named 'prod'" in (typo.stderr + typo.stdout)

    serve = start_serve(
        tmp_path / "shield.yaml",
        cwd=tmp_path,
        env=wide_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port, _ = read_bound(serve)
        wait_until(lambda: _call(port, "/api/v1/checks"), "serve to answer")
        page = _call(port, "/", auth=False)
        assert "Card payments are delayed" in page and "we are on it." in page
        assert 'data-kind="manual"' in page

        # the API: open, update, resolve, link the post-mortem
        made = _call(
            port,
            "/api/v1/incidents",
            {"title": "Login emails are late", "service": "mail", "severity": "medium"},
        )
        assert made["kind"] == "manual" and made["status"] == "open" and made["manual"]
        api_id = made["id"]
        _call(port, f"/api/v1/incidents/{api_id}/updates", {"text": "The mail relay is back."})
        with pytest.raises(urllib.error.HTTPError) as still_open:
            _call(port, f"/api/v1/incidents/{api_id}/postmortem", {"url": "https://x.test/pm"})
        assert still_open.value.code == 409
        _call(port, f"/api/v1/incidents/{api_id}/resolve", {})
        with pytest.raises(urllib.error.HTTPError) as bad_url:
            _call(port, f"/api/v1/incidents/{api_id}/postmortem", {"url": "javascript:alert(1)"})
        assert bad_url.value.code == 400
        done = _call(
            port,
            f"/api/v1/incidents/{api_id}/postmortem",
            {"url": "https://blog.example.com/2026/mail-delays"},
        )
        assert done["postmortem"] == "https://blog.example.com/2026/mail-delays"

        # the CLI again, while serve runs: resolve with a last word, then the post-mortem
        resolved = _cli(tmp_path, "incident", "resolve", str(cli_id), "Payments flow again.")
        assert resolved.returncode == 0, resolved.stderr
        linked = _cli(
            tmp_path, "incident", "postmortem", str(cli_id), "https://wiki.example.com/pm/payments"
        )
        assert linked.returncode == 0, linked.stderr

        # the dashboard's form
        dashboard, csrf = _login(port)
        form = urllib.parse.urlencode(
            {
                "csrf": csrf,
                "title": "Search results are stale",
                "service": "search",
                "environment": "production",
                "severity": "low",
                "text": "Reindexing.",
            }
        ).encode()
        with dashboard.open(
            f"http://127.0.0.1:{port}/dashboard/incidents/open", data=form, timeout=10
        ) as r:
            assert re.search(r"/dashboard/incidents/\d+$", r.url), r.url
            assert "Search results are stale" in r.read().decode()

        page = _call(port, "/", auth=False)
        ongoing, _, past = page.partition('class="incidents past"')
        assert "Search results are stale" in ongoing and "Reindexing." in ongoing
        assert "Card payments are delayed" in past and "Payments flow again." in past
        assert 'href="https://wiki.example.com/pm/payments"' in past
        assert 'href="https://blog.example.com/2026/mail-delays"' in past

        feed = feedparser.parse(_call(port, "/status/feed.atom", auth=False).encode())
        assert not feed.bozo, feed.bozo_exception
        titles = " | ".join(e.title for e in feed.entries)
        assert "Card payments are delayed (resolved)" in titles, titles
        assert "Search results are stale (ongoing)" in titles, titles
        payments = next(e for e in feed.entries if "Card payments" in e.title)
        assert any(
            link.get("rel") == "related" and link["href"] == "https://wiki.example.com/pm/payments"
            for link in payments.links
        )
        assert any("Payments flow again." in e.summary for e in feed.entries)

        wait_until(
            lambda: _call(port, "/api/v1/checks")["checks"][0]["status"] == "up", "shop to be up"
        )
        _environment_badges_render(f"http://127.0.0.1:{port}")
    finally:
        _, err = stop_serve(serve, timeout=30)
        target.close()
    assert "Traceback" not in (err or ""), err


def _environment_badges_render(site: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page()
            seen: dict[str, Any] = {}
            for path in (
                "/badge/env/production/status.svg",
                "/badge/env/production/uptime.svg",
                "/badge/env/nowhere/status.svg",
            ):
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
            status = seen["/badge/env/production/status.svg"]
            assert status["tag"] == "svg" and status["width"] > 60 and status["drawn"]
            assert status["words"] == ["production", "up"] and status["fill"] == "#12b76a"
            uptime = seen["/badge/env/production/uptime.svg"]
            assert uptime["drawn"] and uptime["words"][0] == "production uptime 30d"
            # fresh results reach the 30-day figure at the next hourly roll-up
            assert re.fullmatch(r"no data|\d+\.\d\d%", uptime["words"][1]), uptime
            assert seen["/badge/env/nowhere/status.svg"]["words"] == ["nowhere", "not found"]
        finally:
            browser.close()
