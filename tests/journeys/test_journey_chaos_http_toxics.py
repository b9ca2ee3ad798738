"""Journey: `prodshield chaos proxy` in front of a real HTTP server. An `http_status` toxic added
through the Toxiproxy API (plain urllib, as curl would) answers 503 on the matched path only, then
its `limit_time` removes it; `chaos toxic add -t http_fail_first -a path=...` fails the first
request on that path, then lets the next through. An `oversized_headers` toxic added through the
same API makes a real HTTP client (http.client, under urllib) refuse the response, and
`chaos toxic list` on an 80-column terminal shows each toxic's attributes and `limit_time` whole."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from support.net import http_server, wait_until
from support.serve import read_proxy_ports


class _Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"page {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def upstream() -> Iterator[int]:
    with http_server(_Pages) as port:
        yield port


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _api(port: int, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw.strip() else None


def _wait(predicate: Any, what: str, timeout: float = 60.0) -> Any:
    return wait_until(predicate, what, timeout, interval=0.1)


def _proxy(tmp_path: Path, upstream: int) -> tuple[subprocess.Popen[str], int, int]:
    config = tmp_path / "proxies.json"
    config.write_text(
        json.dumps(
            [{"name": "web", "listen": "127.0.0.1:0",
              "upstream": f"127.0.0.1:{upstream}"}]
        )
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PRODSHIELD_CONFIG"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "chaos", "proxy", "--port", "0",
         "--config", str(config)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:  # both on port 0: the ports come from what it prints once they listen
        api_port, ports, _ = read_proxy_ports(proc, ("web",))
        _wait(lambda: _api(api_port, "GET", "/proxies"), "the proxy API")
    except BaseException:
        _stop(proc)
        raise
    return proc, api_port, ports["web"]


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    return err


def test_http_status_toxic_on_one_path_then_limit_time(tmp_path: Path, upstream: int) -> None:
    proc, api_port, listen_port = _proxy(tmp_path, upstream)
    env = {k: v for k, v in os.environ.items() if k != "PRODSHIELD_CONFIG"}
    try:
        site = f"http://127.0.0.1:{listen_port}"
        assert _get(f"{site}/api/orders") == (200, b"page /api/orders")

        toxic = _api(
            api_port,
            "POST",
            "/proxies/web/toxics",
            {"type": "http_status", "attributes": {"status": 503, "path": "/api/"},
             "limit_time": 4000},
        )  # fmt: skip
        assert toxic["limit_time"] == 4000
        status, body = _get(f"{site}/api/orders")
        assert status == 503 and b"injected by the prodshield chaos proxy" in body
        assert _get(f"{site}/") == (200, b"page /")
        assert _get(f"{site}/apidocs") == (200, b"page /apidocs")

        _wait(lambda: _api(api_port, "GET", "/proxies/web/toxics") == [], "limit_time")
        assert _get(f"{site}/api/orders") == (200, b"page /api/orders")

        added = subprocess.run(
            [sys.executable, "-m", "prodshield", "chaos", "toxic", "add", "web",
             "-t", "http_fail_first", "-a", "path=/login", "-a", "status=500",
             "--api", f"http://127.0.0.1:{api_port}"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert _get(f"{site}/login")[0] == 500
        assert _get(f"{site}/login") == (200, b"page /login")
    finally:
        err = _stop(proc)
    assert "Traceback" not in err, err


def test_oversized_headers_breaks_a_real_client_and_toxic_list_shows_limit_time(
    tmp_path: Path, upstream: int
) -> None:
    proc, api_port, listen_port = _proxy(tmp_path, upstream)
    try:
        site = f"http://127.0.0.1:{listen_port}"
        assert _get(f"{site}/cart") == (200, b"page /cart")

        # A header the client still accepts: it arrives, padded to the size asked for.
        _api(api_port, "POST", "/proxies/web/toxics",
             {"name": "padding", "type": "oversized_headers",
              "attributes": {"size": 2000, "name": "X-Big"}})  # fmt: skip
        with urllib.request.urlopen(f"{site}/cart", timeout=10) as resp:
            assert resp.status == 200 and resp.read() == b"page /cart"
            assert resp.headers["X-Big"] == "x" * (2000 - len("X-Big") - 4)
        _api(api_port, "DELETE", "/proxies/web/toxics/padding")

        # 70,000 bytes is over http.client's 65,536-byte header line: the client refuses it.
        toxic = _api(
            api_port, "POST", "/proxies/web/toxics",
            {"name": "huge_response_headers_for_gameday", "type": "oversized_headers",
             "attributes": {"size": 70000, "name": "X-Prodshield-Padding-For-The-Gameday"},
             "limit_time": 600000},
        )  # fmt: skip
        assert toxic["type"] == "oversized_headers" and toxic["limit_time"] == 600000
        with pytest.raises(http.client.LineTooLong):
            urllib.request.urlopen(f"{site}/cart", timeout=10).close()

        # `chaos toxic list` at 80 columns: the time limit and every attribute whole.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")}
        listed = subprocess.run(
            [sys.executable, "-m", "prodshield", "chaos", "toxic", "list", "web",
             "--api", f"http://127.0.0.1:{api_port}"],
            cwd=tmp_path, env={**env, "COLUMNS": "80", "NO_COLOR": "1"},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert all(len(line) <= 80 for line in lines), listed.stdout
        words = listed.stdout.split()
        assert "huge_response_headers_for_gameday" in words and "oversized_headers" in words
        for attribute in ("size=70000,", "name=X-Prodshield-Padding-For-The-Gameday,",
                          "limit_time=600000ms"):  # fmt: skip
            assert attribute in words, listed.stdout

        # Removed through the API, the client reads the page again.
        _api(api_port, "DELETE", "/proxies/web/toxics/huge_response_headers_for_gameday")
        assert _get(f"{site}/cart") == (200, b"page /cart")
    finally:
        err = _stop(proc)
    assert "Traceback" not in err, err
