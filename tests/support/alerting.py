"""Helpers of the alerting journeys: `prodshield serve` as a subprocess on a port it binds itself
with the paging stand-in, its API with the token, the dashboard through a cookie jar, a loopback
target that can be brought up and down on a port held for it."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from support.net import serving_on
from support.serve import Served, read_bound, stop_serve
from support.standins.paging import NTFY_TOKEN, PD_KEY

TOKEN = "journey-token-alerting-0123456789"
WEBHOOK_SECRET = "pd-webhook-signing-secret-0123456789abcdef"


def env() -> dict[str, str]:
    out = {
        k: v for k, v in os.environ.items() if k not in ("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN")
    }
    out["PAGERDUTY_ROUTING_KEY"] = PD_KEY
    out["NTFY_TOKEN"] = NTFY_TOKEN
    out["PAGERDUTY_WEBHOOK_SECRET"] = WEBHOOK_SECRET
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
    """A healthy target on ``port`` for the block: on a ``refused_port()``, on the socket held
    for it, which refuses again after the block (down, and still the target's)."""
    with serving_on(port, Healthy, HTTPServer):
        yield


@contextmanager
def serving(cwd: Path) -> Iterator[Served]:
    """``prodshield serve`` of ``cwd/shield.yaml`` for the block, its stderr in ``serve.log``;
    ``Served.port`` is the port it bound (``serve.port: 0`` in the journeys' configs)."""
    with (cwd / "serve.log").open("w") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "prodshield", "serve", "-c", str(cwd / "shield.yaml")],
            cwd=cwd,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        port, head = read_bound(serve)
        yield Served(serve, port, head)
    finally:
        stop_serve(serve, timeout=30)


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
        csrf = csrf_of(self.get("/login"))
        status, page = self.post("/login", {"token": TOKEN, "csrf": csrf, "next": "/dashboard"})
        assert status == 200 and "Sign in" not in page[:2000], page[:500]


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, page[:500]
    return m.group(1)
