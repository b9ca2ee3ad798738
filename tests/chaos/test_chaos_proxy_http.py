"""HTTP toxics (``http_status``, ``http_fail_first``) and ``limit_time`` against a real aiohttp
upstream on loopback, through keep-alive connections, chunked bodies and Toxiproxy's API."""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from prodshield.chaos.proxy.service import proxies_from_chaos_config
from prodshield.config import parse_config
from support.chaos_proxy import ProxyThread, Upstreams, connect, recv_all


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """An aiohttp server: any GET answers its path, POST /echo answers the body it read."""
    loop = Upstreams()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f"page {request.path}")

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    async def start() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_post("/echo", echo)
        app.router.add_get("/{tail:.*}", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    runner, port = loop.call(start)
    yield f"127.0.0.1:{port}"
    loop.call(runner.cleanup)
    loop.close()


def _get(
    conn: http.client.HTTPConnection, path: str, method: str = "GET", body: Any = None
) -> tuple[int, bytes, dict[str, str]]:
    conn.request(method, path, body=body)
    resp = conn.getresponse()
    return resp.status, resp.read(), dict(resp.headers)


def _fresh(address: tuple[str, int], path: str, method: str = "GET") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        status, body, _ = _get(conn, path, method)
        return status, body
    finally:
        conn.close()


def test_http_status_probability_one_answers_every_request(api: ProxyThread, upstream: str) -> None:
    address = api.create("web", upstream)
    shown = api.toxic("web", type="http_status", attributes={"status": 503})
    assert shown["attributes"] == {"status": 503, "method": "", "path": "", "path_regex": ""}
    for _ in range(5):
        conn = http.client.HTTPConnection(*address, timeout=10)
        status, body, headers = _get(conn, "/anything")
        conn.close()
        assert status == 503
        assert b"injected by the prodshield chaos proxy" in body
        assert headers["Connection"] == "close"
        assert headers["X-Prodshield-Toxic"] == "http_status"


def test_http_status_probability_zero_passes_everything(api: ProxyThread, upstream: str) -> None:
    address = api.create("web", upstream)
    api.toxic("web", type="http_status", toxicity=0, attributes={"status": 500})
    conn = http.client.HTTPConnection(*address, timeout=10)
    for i in range(10):  # one keep-alive connection, ten requests
        assert _get(conn, f"/p{i}")[:2] == (200, f"page /p{i}".encode())
    conn.close()


def test_http_status_half_probability_is_drawn_per_request(api: ProxyThread, upstream: str) -> None:
    address = api.create("web", upstream)
    api.toxic("web", type="http_status", toxicity=0.5)
    statuses = [_fresh(address, "/x")[0] for _ in range(60)]
    assert set(statuses) == {200, 503}  # chance of failing this: 2 * 0.5**60


def test_http_status_matches_path_prefix_method_and_regex(api: ProxyThread, upstream: str) -> None:
    address = api.create("web", upstream)
    api.toxic(
        "web",
        name="api-down",
        type="http_status",
        attributes={"status": 502, "path": "/api/", "method": "get"},
    )
    assert _fresh(address, "/api/users")[0] == 502
    assert _fresh(address, "/apix") == (200, b"page /apix")
    assert _fresh(address, "/") == (200, b"page /")
    assert _fresh(address, "/api/users", method="HEAD")[0] == 200  # method does not match
    api.json("DELETE", "/proxies/web/toxics/api-down")
    api.toxic("web", type="http_status", attributes={"status": 404, "path_regex": r"\.php(\?|$)"})
    assert _fresh(address, "/index.php?x=1")[0] == 404
    assert _fresh(address, "/index.phpx") == (200, b"page /index.phpx")


def test_keep_alive_connection_passes_then_fails_on_the_matched_request(
    api: ProxyThread, upstream: str
) -> None:
    address = api.create("web", upstream)
    api.toxic("web", type="http_status", attributes={"path": "/broken"})
    conn = http.client.HTTPConnection(*address, timeout=10)
    assert _get(conn, "/a")[:2] == (200, b"page /a")
    big = b"x" * 200_000  # a body spanning many reads: its bytes must not be taken for requests
    assert _get(conn, "/echo", "POST", big)[:2] == (200, big)
    chunked = iter([b"one,", b"two,", b"GET /broken HTTP/1.1\r\n\r\n"])
    conn.request("POST", "/echo", body=chunked, encode_chunked=True)
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"one,two,GET /broken HTTP/1.1\r\n\r\n")
    assert _get(conn, "/b")[:2] == (200, b"page /b")
    status, _, headers = _get(conn, "/broken/page")
    assert status == 503 and headers["Connection"] == "close"
    conn.close()


def test_http_fail_first_fails_n_matching_requests_then_passes(
    api: ProxyThread, upstream: str
) -> None:
    address = api.create("web", upstream)
    api.toxic("web", type="http_fail_first", attributes={"count": 3, "path": "/login"})
    assert _fresh(address, "/other")[0] == 200  # not matching: not counted
    statuses = [_fresh(address, "/login")[0] for _ in range(5)]
    assert statuses == [503, 503, 503, 200, 200]


def test_limit_time_removes_the_toxic(api: ProxyThread, upstream: str) -> None:
    address = api.create("web", upstream)
    shown = api.toxic("web", type="http_status", limit_time=1500)
    assert shown["limit_time"] == 1500
    assert _fresh(address, "/")[0] == 503
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and api.json("GET", "/proxies/web/toxics")[1]:
        time.sleep(0.1)
    assert api.json("GET", "/proxies/web/toxics") == (200, [])
    assert _fresh(address, "/") == (200, b"page /")


def test_limit_time_as_an_attribute_works_for_any_toxic(api: ProxyThread, upstream: str) -> None:
    """Toxiproxy clients only send attributes: ``limit_time`` there works too, on any type."""
    address = api.create("web", upstream)
    shown = api.toxic("web", type="timeout", attributes={"timeout": 0, "limit_time": 1000})
    assert shown["limit_time"] == 1000 and "limit_time" not in shown["attributes"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and api.json("GET", "/proxies/web/toxics")[1]:
        time.sleep(0.1)
    assert api.json("GET", "/proxies/web/toxics") == (200, [])
    assert _fresh(address, "/") == (200, b"page /")


def test_removing_the_toxic_releases_a_half_read_request(api: ProxyThread, upstream: str) -> None:
    address = api.create("web", upstream)
    api.toxic("web", name="s", type="http_status", attributes={"path": "/never"})
    with connect(address) as sock:
        sock.sendall(b"GET /held HTTP/1.1\r\nHost: x\r\n")  # headers not finished: held
        time.sleep(0.3)
        assert api.json("DELETE", "/proxies/web/toxics/s")[0] == 204
        sock.sendall(b"Connection: close\r\n\r\n")
        data, _ = recv_all(sock, 10)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"page /held")


def test_not_http_is_passed_through(api: ProxyThread, upstream: str) -> None:
    upstreams = Upstreams()
    try:
        address = api.create("echo", upstreams.tcp())
        api.toxic("echo", type="http_status")
        with connect(address) as sock:
            sock.sendall(b"\x00\x01binary protocol\r\n\r\nmore")
            sock.shutdown(1)
            data, _ = recv_all(sock, 10)
        assert data == b"\x00\x01binary protocol\r\n\r\nmore"
    finally:
        upstreams.close()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"type": "http_status", "attributes": {"status": 42}}, "status must be an HTTP status"),
        ({"type": "http_status", "attributes": {"path": 5}}, "cannot use int as string"),
        ({"type": "http_status", "attributes": {"path_regex": "("}}, "path_regex is not valid"),
        ({"type": "latency", "limit_time": -1}, "limit_time must not be negative"),
    ],
)
def test_bad_http_toxic_settings_are_one_line_errors(
    api: ProxyThread, upstream: str, body: dict[str, Any], error: str
) -> None:
    api.create("web", upstream)
    status, data = api.json("POST", "/proxies/web/toxics", body)
    assert status == 400
    assert error.split(" is ")[0] in data["error"] and "\n" not in data["error"]


def test_slow_headers_delays_matching_responses_on_one_connection(
    api: ProxyThread, upstream: str
) -> None:
    address = api.create("web", upstream)
    shown = api.toxic("web", type="slow_headers", attributes={"delay": 800, "path": "/slow"})
    assert shown["attributes"] == {"delay": 800, "method": "", "path": "/slow", "path_regex": ""}
    conn = http.client.HTTPConnection(*address, timeout=30)
    for _ in range(2):  # each request on the keep-alive connection is late
        start = time.monotonic()
        assert _get(conn, "/slow/x")[:2] == (200, b"page /slow/x")
        assert time.monotonic() - start >= 0.75
    start = time.monotonic()
    assert _get(conn, "/fast")[:2] == (200, b"page /fast")
    fast = time.monotonic() - start
    assert fast < 0.75
    conn.close()


def test_removing_slow_headers_releases_the_held_request(api: ProxyThread, upstream: str) -> None:
    address = api.create("web", upstream)
    api.toxic("web", name="late", type="slow_headers", attributes={"delay": 600_000})
    result: list[tuple[int, bytes]] = []
    worker = threading.Thread(target=lambda: result.append(_fresh(address, "/held")))
    worker.start()
    time.sleep(0.5)
    assert not result  # still held
    assert api.json("DELETE", "/proxies/web/toxics/late")[0] == 204
    worker.join(20)
    assert result == [(200, b"page /held")]


def test_docs_shield_yaml_http_toxic_with_limit_time_applies(
    api: ProxyThread, upstream: str
) -> None:
    """The shield.yaml example of docs/chaos-proxy.md parses and, populated, adds the toxic with
    its limit_time (the listen address swapped for a free port, the upstream for a real one)."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "chaos-proxy.md"
    block = re.search(
        r"```yaml\n(chaos:\n  proxies:\n    - name: web\n.*?)```", docs.read_text(), re.S
    )
    assert block is not None
    proxies = proxies_from_chaos_config(parse_config(block.group(1)).config.chaos)
    assert proxies[0]["toxics"][0]["limit_time"] == 600000
    proxies[0].update(listen="127.0.0.1:0", upstream=upstream)
    status, created = api.json("POST", "/populate", proxies)
    assert status == 201, created
    status, toxics = api.json("GET", "/proxies/web/toxics")
    assert toxics[0]["type"] == "http_status" and toxics[0]["limit_time"] == 600000
    assert toxics[0]["attributes"]["path"] == "/api/"


def test_oversized_headers_adds_a_header_of_the_given_size(api: ProxyThread, upstream: str) -> None:
    address = api.create("web", upstream)
    shown = api.toxic("web", type="oversized_headers", attributes={"size": 40_000})
    assert shown["attributes"] == {"size": 40_000, "name": "X-Prodshield-Padding"}
    assert [t["type"] for t in api.json("GET", "/proxies/web/toxics")[1]] == ["oversized_headers"]
    with connect(address) as sock:  # raw bytes: the header line is exactly size bytes
        sock.sendall(b"GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = recv_all(sock)[0]
    line = next(x for x in raw.split(b"\r\n") if x.startswith(b"X-Prodshield-Padding:"))
    assert len(line) + 2 == 40_000
    assert raw.endswith(b"\r\n\r\npage /raw")
    big = b"y" * 100_000
    conn = http.client.HTTPConnection(*address, timeout=10)
    for i in range(3):  # every response on a keep-alive connection, chunked request body too
        assert _get(conn, f"/p{i}")[:2] == (200, f"page /p{i}".encode())
        status, body, headers = _get(conn, "/echo", "POST", big)
        assert (status, body) == (200, big)
        assert len(headers["X-Prodshield-Padding"]) == 40_000 - len("X-Prodshield-Padding: \r\n")
    conn.close()


def test_oversized_headers_trips_a_clients_header_limit(api: ProxyThread, upstream: str) -> None:
    import httpx

    address = api.create("web", upstream)
    url = f"http://{address[0]}:{address[1]}/limit"
    api.toxic("web", name="pad", type="oversized_headers", attributes={"size": 70_000})
    conn = http.client.HTTPConnection(*address, timeout=10)
    conn.request("GET", "/limit")
    with pytest.raises(http.client.HTTPException):  # http.client's 64 KiB header-line limit
        conn.getresponse()
    conn.close()
    api.json("DELETE", "/proxies/web/toxics/pad")
    api.toxic("web", name="pad", type="oversized_headers", attributes={"size": 1 << 20})
    with pytest.raises(httpx.HTTPError):  # h11's default 64 KiB incomplete-event limit
        httpx.get(url, timeout=10)
    api.json("DELETE", "/proxies/web/toxics/pad")
    assert httpx.get(url, timeout=10).text == "page /limit"
    api.toxic("web", type="oversized_headers", toxicity=0, attributes={"size": 1 << 20})
    assert httpx.get(url, timeout=10).text == "page /limit"  # toxicity 0: untouched


@pytest.mark.parametrize(
    ("attributes", "error"),
    [
        ({"size": 2 << 20}, "size must be between"),
        ({"size": 3}, "size must be between"),
        ({"name": "bad name"}, "name must be an HTTP header name"),
    ],
)
def test_bad_oversized_headers_settings_are_one_line_errors(
    api: ProxyThread, upstream: str, attributes: dict[str, Any], error: str
) -> None:
    api.create("web", upstream)
    body = {"type": "oversized_headers", "attributes": attributes}
    status, data = api.json("POST", "/proxies/web/toxics", body)
    assert status == 400
    assert error in data["error"] and "\n" not in data["error"]
