"""Journey: planned work does not cost uptime, and the status page says it is coming.

An operator declares a deploy window on `orders` (running now, ending in a few seconds), a website
migration in two days (announced three days ahead) and a move in three weeks (too far ahead to
announce). The target fails during the deploy and answers again after it. Then, as a newcomer
would look: the static status site and the live page (in Chromium) show the deploy in progress
and the migration ahead, never the far one; `monitor status`, `monitor report`, the JSON API and
the uptime badge all say 100 %: the failures inside the window are not counted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.net import refused_port
from support.serve import read_bound, stop_serve

CHROMIUM = "/usr/bin/chromium"
TOKEN = "journey-token-maintenance-0123456789"
WINDOW = 75.0
"""Seconds the deploy window still runs after the test starts (room for five CLI runs on a
busy machine)."""


class _Target:
    """An HTTP target that answers 503 while ``failing`` is set, 200 otherwise."""

    def __init__(self) -> None:
        self.failing = True
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(503 if outer.failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = shell_env(drop=("PRODSHIELD_", "GITHUB_"), COLUMNS="80")
    return prodshield(cwd, *args, env=env, installed=True)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def _status_page_shows_maintenance(html: str, *, deploy_ongoing: bool) -> None:
    section = html[
        html.index('id="maintenance"') : html.index("</section>", html.index('id="maintenance"'))
    ]
    assert "website-migration" in section and "Moving the website to a new host" in section
    assert "far-away-move" not in html
    assert "not counted against uptime" in section
    if deploy_ongoing:
        assert 'data-maintenance="orders-deploy" data-ongoing="yes"' in section
        assert "in progress" in section and "Deploying orders v2" in section
        # the ongoing window comes first, the announced one after it
        assert section.index("orders-deploy") < section.index("website-migration")
    else:
        assert "orders-deploy" not in section
    assert 'data-maintenance="website-migration" data-ongoing="no"' in section


def test_maintenance_is_announced_and_not_counted_against_uptime(tmp_path: Path) -> None:
    target = _Target()
    now = datetime.now(UTC).replace(microsecond=0)
    deploy_end = now + timedelta(seconds=WINDOW + 1)
    migration = now + timedelta(days=2)
    far = now + timedelta(days=21)
    (tmp_path / "shield.yaml").write_text(
        f"""
storage: "sqlite:///{tmp_path / "store.db"}"
serve: {{title: "Shop status", token: "{TOKEN}"}}
environments:
  production: {{}}
checks:
  - name: orders
    type: http
    url: "{target.url}/api/orders"
    environments: [production]
    timeout: 2s
    conditions: ["[STATUS] == 200"]
  - name: website
    type: http
    url: "{target.url}/"
    environments: [production]
    timeout: 2s
    conditions: ["[STATUS] < 600"]
maintenance:
  - name: orders-deploy
    start: {_iso(now - timedelta(hours=1))}
    end: {_iso(deploy_end)}
    checks: [orders]
    description: "Deploying orders v2: checkout may fail for a minute"
  - name: website-migration
    start: {_iso(migration)}
    end: {_iso(migration + timedelta(hours=2))}
    checks: [website]
    description: "Moving the website to a new host"
    announce: 3d
  - name: far-away-move
    start: {_iso(far)}
    end: {_iso(far + timedelta(hours=1))}
"""
    )
    try:
        assert _cli(tmp_path, "config", "check").returncode == 0
        # inside the window the target fails: the probes run and show it, nothing is counted,
        # and a failure that counts for nothing does not fail the run (exit 0)
        for _ in range(2):
            once = _cli(tmp_path, "monitor", "once", "--format", "json")
            assert once.returncode == 0, once.stderr
            data = json.loads(once.stdout)
            assert not data.get("incidents", {}).get("opened"), data
            held = {(r["check"], r["ok"], r["maintenance"]) for r in data["results"]}
            assert held == {("orders", False, "orders-deploy"), ("website", True, None)}, held
        status = _cli(tmp_path, "monitor", "status", "--format", "json")
        orders = next(c for c in json.loads(status.stdout)["checks"] if c["check"] == "orders")
        assert orders["state"] == "maintenance"
        assert orders["uptime_24h"] is None  # two failures, neither counted
        table = _cli(tmp_path, "monitor", "status")
        assert re.search(r"orders\s+production\s.*maintenance", table.stdout), table.stdout

        site = tmp_path / "site"
        built = _cli(tmp_path, "status", "build", "--out", str(site))
        assert built.returncode == 0, built.stderr
        html = (site / "index.html").read_text()
        _status_page_shows_maintenance(html, deploy_ongoing=True)
        summary = json.loads((site / "status.json").read_text())
        assert [(m["name"], m["ongoing"]) for m in summary["maintenance"]] == [
            ("orders-deploy", True),
            ("website-migration", False),
        ]
        atom = (site / "feed.atom").read_text()
        assert "<title>Maintenance in progress: orders-deploy (" in atom, atom
        assert re.search(
            r'data-service="orders".*?<span class="pill s-maintenance">maintenance</span>',
            html,
            re.S,
        ), "the orders service is not shown in maintenance"
        # every orders result so far was in the window: no uptime yet (not "- uptime")
        assert re.search(
            r'data-service="orders".*?<span class="uptime-90d">no uptime yet</span>', html, re.S
        )
        assert "- uptime" not in html

        # the window ends, the target answers again
        time.sleep(max(0.0, deploy_end.timestamp() - time.time()) + 0.5)
        target.failing = False
        assert _cli(tmp_path, "monitor", "once").returncode == 0

        status = _cli(tmp_path, "monitor", "status", "--format", "json")
        orders = next(c for c in json.loads(status.stdout)["checks"] if c["check"] == "orders")
        assert orders["state"] == "up"
        assert orders["uptime_24h"] == 100.0, orders
        report = json.loads(_cli(tmp_path, "monitor", "report", "--format", "json").stdout)
        row = next(c for c in report["checks"] if c["check"] == "orders")
        assert (row["uptime_pct"], row["results"], row["failures"]) == (100.0, 1, 0), row

        # the static site, from the hourly aggregates (`status build` rolls them up first)
        rebuilt = _cli(tmp_path, "status", "build", "--out", str(site))
        assert rebuilt.returncode == 0, rebuilt.stderr
        html = (site / "index.html").read_text()
        assert re.search(r'data-service="orders".*?uptime 24 h <b>100.00%</b>', html, re.S)
        _status_page_shows_maintenance(html, deploy_ongoing=False)

        # the live service: API, badge and the status page in a browser, from the aggregates
        proc = subprocess.Popen(
            [sys.executable, "-m", "prodshield", "serve", "--port", "0"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PRODSHIELD_TOKEN": TOKEN, "PRODSHIELD_CONFIG": "shield.yaml"},
        )
        try:
            port, _ = read_bound(proc)
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 60
            checks: list[dict[str, Any]] = []
            while time.time() < deadline:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                try:
                    _, body = _get(base + "/api/v1/checks")
                    checks = json.loads(body)["checks"]
                    orders_api = next(c for c in checks if c["name"] == "orders")
                    if orders_api["uptime"]["24h"] is not None:
                        break
                except OSError:
                    pass
                time.sleep(0.3)
            orders_api = next(c for c in checks if c["name"] == "orders")
            assert orders_api["uptime"]["24h"] == 100.0, orders_api
            _, badge = _get(base + "/badge/orders/uptime.svg")
            assert b">100.00%<" in badge, badge  # a percentage, not 10000.00%
            _, page = _get(base + "/")
            _status_page_shows_maintenance(page.decode(), deploy_ongoing=False)
            # feed subscribers hear of the migration ahead too (and never of the far move)
            _, feed = _get(base + "/status/feed.atom")
            atom = feed.decode()
            assert "<title>Maintenance scheduled: website-migration (" in atom, atom
            assert "Moving the website to a new host" in atom and "far-away-move" not in atom
            # Chromium is part of CI (.ci/apt-packages): there, its absence is a failure
            assert shutil.which(CHROMIUM) or os.environ.get("CI") != "true", "no chromium"
            if shutil.which(CHROMIUM):
                from playwright.sync_api import sync_playwright

                with sync_playwright() as pw:
                    browser = pw.chromium.launch(
                        executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
                    )
                    try:
                        view = browser.new_context(viewport={"width": 1000, "height": 900})
                        pg = view.new_page()
                        errors: list[str] = []
                        pg.on("pageerror", lambda e: errors.append(str(e)))
                        pg.goto(base + "/")
                        card = pg.locator(
                            '#maintenance article[data-maintenance="website-migration"]'
                        )
                        assert card.is_visible()
                        text = card.inner_text()
                        assert "scheduled" in text and "2h" in text, text
                        assert "website" in card.locator(".maintenance-services").inner_text()
                        assert errors == []
                    finally:
                        browser.close()
        finally:
            stop_serve(proc, timeout=20)
    finally:
        target.close()


def test_monitor_once_says_a_failure_in_a_window_is_not_counted(tmp_path: Path) -> None:
    """`monitor once` in a workflow during planned work: the failing check inside the window is
    printed as failed, with the window's name and "not counted", and the run exits 0; a check
    outside any window that fails still fails the run (exit 1)."""
    closed = refused_port()
    (tmp_path / "shield.yaml").write_text(
        f"""
storage: "sqlite:///{tmp_path / "store.db"}"
maintenance:
  - {{name: db-upgrade, start: "2020-01-01T00:00:00Z", end: "2099-01-01T00:00:00Z", checks: [db]}}
checks:
  - {{name: db, type: tcp, host: 127.0.0.1, port: {closed}}}
  - {{name: cache, type: tcp, host: 127.0.0.1, port: {closed}}}
"""
    )
    once = _cli(tmp_path, "monitor", "once", "--check", "db")
    assert once.returncode == 0, once.stdout + once.stderr
    words = " ".join(once.stdout.split())
    # the row (wrapped at 80 columns): failed (refused), in the window, not counted
    assert re.search(r"db - failed [\d.]+ ms in maintenance window db-upgrade, not", words), words
    assert "(refused) counted: connection refused" in words, words
    assert "1 failure in a maintenance window: not counted (no incident, not a failed run)" in words
    both = _cli(tmp_path, "monitor", "once")
    assert both.returncode == 1, both.stdout + both.stderr
    assert "1 failure in a maintenance window: not counted" in " ".join(both.stdout.split())
