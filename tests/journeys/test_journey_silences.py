"""Journey: silences through the CLI, the JSON API and the dashboard, with `prodshield serve` as a
subprocess paging a PagerDuty stand-in.

A check is silenced from the CLI before it fails: its incident opens, records the silence (who,
why, until when) and pages no one; when the silence expires the still-open incident pages once.
Silenced again from the API, the recovery still clears the page (a resolution wakes no one). A
silence set from the dashboard's form on the incident, then lifted from the incidents page, shows
on the incident and in the API.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from paging_standins import PD_KEY, PagingStandin

TOKEN = "journey-token-silence-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env() -> dict[str, str]:
    out = {
        k: v for k, v in os.environ.items() if k not in ("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN")
    }
    out["PAGERDUTY_ROUTING_KEY"] = PD_KEY
    return out


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def api(port: int, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read() or b"null")


def wait(predicate: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError:
            last = None
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def target_up(port: int) -> Iterator[None]:
    server = HTTPServer(("127.0.0.1", port), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serving(cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    serve = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "serve", "-c", str(cwd / "shield.yaml")],
        cwd=cwd,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=(cwd / "serve.log").open("w"),
    )
    try:
        yield serve
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.communicate()


class Browser:
    """The dashboard as a browser without JavaScript uses it: a cookie jar and its forms."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as r:
            return str(r.read().decode())

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=10) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode()

    def login(self) -> None:
        csrf = _csrf(self.get("/login"))
        status, page = self.post("/login", {"token": TOKEN, "csrf": csrf, "next": "/dashboard"})
        assert status == 200 and "Sign in" not in page[:2000], page[:500]


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, page[:500]
    return m.group(1)


def write_config(tmp_path: Path, port: int, target_port: int, pd_url: str) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: {port}, token: "{TOKEN}"}}\n'
        "defaults: {failure_threshold: 1, success_threshold: 1}\n"
        "notifiers:\n"
        "  oncall:\n"
        "    type: pagerduty\n"
        '    routing_key: "${PAGERDUTY_ROUTING_KEY}"\n'
        f"    url: {pd_url}\n"
        "checks:\n"
        f"  - {{name: shop, type: http, url: 'http://127.0.0.1:{target_port}/', timeout: 1s,"
        " interval: 1s}\n"
    )


def test_silence_from_cli_api_and_dashboard_holds_then_resumes_paging(tmp_path: Path) -> None:
    port, target_port = free_port(), free_port()
    with PagingStandin.in_thread() as rx:
        write_config(tmp_path, port, target_port, rx.pagerduty_url)
        made = cli(
            tmp_path,
            "incident", "silence", "shop", "--for", "25s",
            "--reason", "database migration", "--by", "alice", "--json",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        silence = json.loads(made.stdout)
        assert silence["check"] == "shop" and silence["by"] == "alice" and silence["active"]
        listed = cli(tmp_path, "incident", "silences")
        assert f"#{silence['id']} shop active" in listed.stdout, listed.stdout
        bad = cli(tmp_path, "incident", "silence", "shop", "--for", "1h", "--reason", " ")
        assert bad.returncode == 2 and "a silence needs a reason" in bad.stderr

        with serving(tmp_path):
            [incident] = wait(
                lambda: api(port, "/api/v1/incidents?status=open")[1]["incidents"],
                "the incident to open",
            )
            # silenced: recorded on the incident, nothing paged
            seen = wait(
                lambda: (
                    (i := api(port, f"/api/v1/incidents/{incident['id']}")[1])["silence"]
                    and "incident.opened" in i["silence"]["held"]
                    and i
                ),
                "the silence recorded on the incident",
            )
            assert seen["silence"]["by"] == "alice"
            assert seen["silence"]["reason"] == "database migration"
            assert abs(seen["silence"]["until"] - silence["until"]) < 0.01
            time.sleep(1.0)
            assert rx.of("pagerduty") == []

            # the silence expires while the check still fails: one page, then nothing more
            wait(lambda: rx.pagerduty, "the page after the silence", timeout=45)
            [alert] = rx.pagerduty.values()
            assert alert.actions == ["trigger"]
            after = api(port, f"/api/v1/incidents/{incident['id']}")[1]
            assert after["silence"]["released_at"] >= silence["until"]
            time.sleep(2.0)
            assert alert.actions == ["trigger"]

            # silenced again from the API; the recovery still clears the page
            status, again = api(
                port,
                "/api/v1/silences",
                {"check": "shop", "for": "10m", "reason": "fix deploying", "by": "bob"},
            )
            assert status == 201, again
            assert again["by"] == "bob (via operator)" and again["active"]
            status, refused = api(port, "/api/v1/silences", {"check": "nope", "for": "1h"})
            assert status == 400 and "needs a reason" in refused["error"], refused
            _, active = api(port, "/api/v1/silences")
            assert [s["id"] for s in active["silences"]] == [again["id"]]
            with target_up(target_port):
                wait(lambda: alert.status == "resolved", "the resolve", timeout=30)
            resolved = api(port, f"/api/v1/incidents/{incident['id']}")[1]
            assert resolved["status"] == "resolved"
            assert resolved["silence"]["reason"] == "fix deploying"
            status, ended = api(port, f"/api/v1/silences/{again['id']}/expire", {})
            assert status == 200 and not ended["active"] and ended["ended_by"] == "operator"

            # the dashboard: the next incident silenced from its form, the silence lifted
            [second] = wait(
                lambda: api(port, "/api/v1/incidents?status=open")[1]["incidents"],
                "the second incident",
            )
            wait(lambda: rx.pagerduty[alert.key] is not alert, "the second page", timeout=30)
            browser = Browser(port)
            browser.login()
            page = browser.get("/dashboard/incidents")
            status, shown = browser.post(
                f"/dashboard/incidents/{second['id']}/silence",
                {"csrf": _csrf(page), "for": "2h", "text": "known: vendor outage"},
            )
            assert status == 200, shown[:300]
            assert "Silenced by" in shown and "known: vendor outage" in shown
            record = api(port, f"/api/v1/incidents/{second['id']}")[1]["silence"]
            assert record["by"] == "operator" and record["until"] > time.time() + 7000
            listing = browser.get("/dashboard/incidents")
            assert "known: vendor outage" in listing and "silenced until" in listing
            sid = record["id"]
            status, _ = browser.post(f"/dashboard/silences/{sid}/expire", {"csrf": _csrf(listing)})
            assert status == 200
            assert api(port, "/api/v1/silences")[1]["silences"] == []
            assert "bad" not in browser.get(f"/dashboard/incidents/{second['id']}")
    log = (tmp_path / "serve.log").read_text()
    assert PD_KEY not in log and "Traceback" not in log, log[-3000:]
