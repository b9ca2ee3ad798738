"""One incident, all the evidence, as a user meets it: a deploy marked with the CLI, ``serve``
following the shop's access and application logs, then the shop's check failing while the access
log shows a 5xx burst on one endpoint and a new error template appeared after the deploy. One
GitHub issue (the stand-in) names the endpoint, the template and the deploy; the dashboard's
incident timeline shows them; a ``/status`` comment on the issue reaches the public status page
and its Atom feed (parsed by feedparser); a subscriber's webhook (subscribed and confirmed through the
public endpoint) gets the incident's opening, that update and its resolution once each; the
check's and the environment's badges render in Chromium while it is down."""

from __future__ import annotations

import http.cookiejar
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import feedparser
import pytest

from support.cli import prodshield, wide_env
from support.net import free_port, wait_until
from support.serve import start_serve, stop_serve
from support.standins.github import GitHubStandin
from support.standins.subscriber import Subscriber

TOKEN = "journey-token-0123456789abcdef"
GH_TOKEN = "gh-journey-token-0123456789"
REPO = "acme/shop"
CHROMIUM = "/usr/bin/chromium"
LAYOUT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time'
)


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=wide_env(), timeout=180)


def _wait(predicate: Any, what: str, timeout: float = 120.0) -> Any:
    return wait_until(predicate, what, timeout, interval=0.3)


class Target:
    """The shop's TCP port: it accepts connections until :meth:`stop`."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # for start_again
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.running = True
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def stop(self) -> None:
        self.running = False
        self.sock.close()

    def start_again(self) -> None:
        """Answer again on the same port (the shop is back)."""
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        self.running = True
        threading.Thread(target=self._serve, daemon=True).start()


def _config(port: int, target: int, gh_url: str) -> str:
    return (
        "storage: sqlite:///store.db\n"
        f'serve: {{port: {port}, token: "{TOKEN}", public_url: "http://127.0.0.1:{port}", '
        "subscriptions: {enabled: true, allow_private_targets: true}}\n"
        "environments: {production: {}}\n"
        "defaults: {interval: 1s, timeout: 2s, failure_threshold: 2, success_threshold: 1}\n"
        "notifiers:\n"
        f'  gh: {{type: github, repo: {REPO}, token: "{GH_TOKEN}", api_url: "{gh_url}", '
        'marker_key: "k-0123456789abcdef"}\n'
        "checks:\n"
        f"  - {{name: shop-checkout, type: tcp, host: 127.0.0.1, port: {target}, "
        "environments: [production], service: shop, alerts: [gh]}\n"
        "logs:\n"
        "  window: 1s\n"
        "  sources:\n"
        f"    - {{name: shop-access, path: logs/access.log, log_format: '{LAYOUT}', "
        "service: shop, environment: production}\n"
        "    - {name: shop-app, path: logs/app.log, format: python, service: shop, "
        "environment: production}\n"
    )


def _access_lines(now: float) -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
    out = [
        f'10.0.0.{i % 9} - - [{stamp}] "GET /api/items/{1000 + i} HTTP/1.1" 200 120 "-" "M" 0.020\n'
        for i in range(20)
    ]
    out += [
        f'10.0.0.77 - - [{stamp}] "POST /api/checkout HTTP/1.1" 502 120 "-" "M" 0.020\n'
        for _ in range(12)
    ]
    return "".join(out)


def _app_lines(now: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
    return "".join(
        f"{stamp},{n:03d} ERROR shop: PaymentGateway timed out after 30 s for order {4400 + n}\n"
        for n in range(3)
    )


def _get(port: int, path: str, opener: Any = None) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with (opener or urllib.request.build_opener()).open(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if path.startswith("/api") else body.decode()


def _login(port: int) -> Any:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"http://127.0.0.1:{port}/login", timeout=10) as r:
        form = r.read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    data = urllib.parse.urlencode({"token": TOKEN, "csrf": csrf.group(1), "next": "/dashboard"})
    with opener.open(f"http://127.0.0.1:{port}/login", data=data.encode(), timeout=10) as r:
        assert r.status == 200
    return opener


def test_incident_issue_carries_the_evidence_and_status_comments_reach_the_page(
    tmp_path: Path,
) -> None:
    port = free_port()
    target = Target()
    hook = Subscriber("/status-hook")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "access.log").write_text("")
    (logs / "app.log").write_text("")
    with GitHubStandin.in_thread(tokens=(GH_TOKEN,)) as gh:
        (tmp_path / "shield.yaml").write_text(_config(port, target.port, gh.url))
        marked = _cli(
            tmp_path, "deploy", "mark", "--version", "v2.4.0", "--env", "production",
            "--service", "shop",
        )  # fmt: skip
        assert marked.returncode == 0, marked.stderr
        time.sleep(1.1)  # templates learnt from here on are new since the deploy
        serve = start_serve(
            tmp_path / "shield.yaml",
            cwd=tmp_path,
            env=wide_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait(lambda: _get(port, "/api/v1/checks"), "serve to answer")
            _subscribe(port, hook)
            now = time.time()
            with (logs / "access.log").open("a") as fh:
                fh.write(_access_lines(now))
            with (logs / "app.log").open("a") as fh:
                fh.write(_app_lines(now))
            _wait(
                lambda: any(
                    f["kind"] == "http_5xx_burst" for f in _get(port, "/api/v1/findings")["logs"]
                ),
                "the 5xx burst finding",
            )
            _wait(
                lambda: any(
                    "PaymentGateway" in t["template"]
                    for t in _get(port, "/api/v1/templates")["templates"]
                ),
                "the new error template",
            )
            target.stop()  # the shop stops answering: the check fails

            issues = _wait(lambda: gh.issues(REPO), "the incident's GitHub issue")
            body = issues[0]["body"]
            assert "Evidence" in body, body
            assert "POST /api/checkout" in body, body
            assert "PaymentGateway timed out" in body, body
            assert "v2.4.0" in body, body

            incident = _wait(
                lambda: _get(port, "/api/v1/incidents?status=open")["incidents"], "the incident"
            )[0]
            dashboard = _login(port)
            timeline = _get(port, f"/dashboard/incidents/{incident['id']}", dashboard)
            assert 'data-kind="http_5xx_burst"' in timeline and "POST /api/checkout" in timeline
            assert 'data-kind="new_template"' in timeline and "PaymentGateway" in timeline
            assert 'data-kind="deploy"' in timeline and "v2.4.0" in timeline
            assert 'data-type="result"' in timeline

            gh.add_comment(
                REPO, issues[0], "/status Rolling back v2.4.0; checkout is paused.", user="alice"
            )
            page = _wait(
                lambda: (lambda p: p if "Rolling back v2.4.0" in p else None)(_get(port, "/")),
                "the /status comment on the public page",
                timeout=90,
            )
            assert "checkout is paused." in page
            feed = feedparser.parse(_get(port, "/status/feed.atom").encode())
            assert not feed.bozo, feed.bozo_exception
            assert any("Rolling back v2.4.0" in e.summary for e in feed.entries)
            assert len(gh.issues(REPO)) == 1  # one issue, the evidence and updates on it
            _badges_render_down(f"http://127.0.0.1:{port}")

            target.start_again()  # the shop is back: the incident resolves
            _wait(
                lambda: _get(port, f"/api/v1/incidents/{incident['id']}")["status"] == "resolved",
                "the incident to resolve",
            )
            _wait(lambda: "resolved" in hook.phases(), "the subscriber's resolution message")
            time.sleep(3)  # room for a duplicate to show up, were there one
            assert sorted(hook.phases()) == ["opened", "resolved", "update"], hook.phases()
            update = next(
                e["event"] for e in hook.events if e["event"]["fields"].get("phase") == "update"
            )
            assert "Rolling back v2.4.0" in update["body"]
            opened = next(
                e["event"] for e in hook.events if e["event"]["fields"].get("phase") == "opened"
            )
            assert "shop-checkout" in opened["title"]
            # the public message says what the page says, not the evidence or the target
            assert (
                "/api/checkout" not in json.dumps(hook.events) and "127.0.0.1" not in opened["body"]
            )
        finally:
            _, err = stop_serve(serve, timeout=30)
            target.stop()
            hook.close()
        assert "Traceback" not in (err or ""), err


def _subscribe(port: int, hook: Subscriber) -> None:
    """Subscribe the webhook through the public endpoint and confirm with the token it gets."""
    site = f"http://127.0.0.1:{port}"
    for path, body in (("/status/subscribe", {"webhook": hook.url}), ("/status/confirm", None)):
        if body is None:
            confirm = _wait(lambda: hook.events, "the confirmation POST")[0]
            assert confirm["event"]["type"] == "subscription.confirm"
            body = {"token": confirm["token"]}
        req = urllib.request.Request(
            site + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status in (200, 202)


def _badges_render_down(site: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page()
            for path, label in (
                ("/badge/shop-checkout.svg", "shop-checkout"),
                ("/badge/env/production/status.svg", "production"),
            ):
                assert page.goto(site + path).status == 200
                seen = page.evaluate(
                    """() => {
                        const texts = [...document.documentElement.querySelectorAll('text')];
                        return {
                            words: texts.map(t => t.textContent),
                            drawn: texts.every(t => t.getComputedTextLength() > 0),
                            width: document.documentElement.getBoundingClientRect().width,
                        };
                    }"""
                )
                assert seen["words"] == [label, "down"] and seen["drawn"], (path, seen)
                assert seen["width"] > 60
        finally:
            browser.close()
