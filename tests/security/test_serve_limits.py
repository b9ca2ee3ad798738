"""HTTP clients of `serve` cannot blind it: idle and slow connections are bounded (per client and
overall), time out while sending their headers, and never take the descriptors the checks need."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from aiohttp import web

from prodshield.web.connections import PROBE_RESERVE, PROBE_SLOTS
from prodshield.web.security import client_key
from support.serve_process import TOKEN, serve, wait_for
from support.standins.loopback_app import serve_app

IDLE = 1100  # a little over the 1,024 descriptors, so the server runs out on its own
NOFILE = 1024


@contextlib.contextmanager
def healthy_target() -> Iterator[str]:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "UP"})

    with serve_app(lambda app: app.router.add_get("/health", health)) as url:
        yield url


def _config(target: str, serve_extra: str = "") -> str:
    return f"""
storage: "sqlite:///{{db}}"
defaults: {{interval: 1s, timeout: 3s}}
environments:
  production: {{vars: {{base: "{target}"}}}}
checks:
  - {{name: api, type: http, url: "{{base}}/health", environments: [production]}}
serve: {{host: 127.0.0.1, port: {{port}}, token: "{TOKEN}"{serve_extra}}}
"""


@contextlib.contextmanager
def idle_connections(port: int, sources: list[str], count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that never send a byte, spread over the loopback ``sources``."""
    held: list[socket.socket] = []
    try:
        for i in range(count):
            s = socket.socket()
            s.settimeout(5)
            s.bind((sources[i % len(sources)], 0))
            try:
                s.connect(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            held.append(s)
        yield held
    finally:
        for s in held:
            s.close()


def _results_since(db_count: Callable[[str, float], int], since: float) -> tuple[int, int]:
    ok = db_count("SELECT count(*) FROM check_results WHERE ts > ? AND ok", since)
    bad = db_count("SELECT count(*) FROM check_results WHERE ts > ? AND NOT ok", since)
    return ok, bad


def test_a_thousand_idle_connections_from_one_client_do_not_fail_a_check(tmp_path: Path) -> None:
    with healthy_target() as target, serve(tmp_path, _config(target), nofile=NOFILE) as srv:
        wait_for("a first good result", lambda: _results_since(srv.count, 0)[0] >= 1)
        with idle_connections(srv.port, ["127.0.0.2"], IDLE):
            time.sleep(1.0)  # let the server accept what it will
            start = time.time()
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                # another client is still served
                assert srv.get("/healthz", timeout=5).status == 200
                time.sleep(0.5)
            ok, bad = _results_since(srv.count, start)
        assert bad == 0, srv.output()
        assert ok >= 3, srv.output()
        assert srv.proc.poll() is None
    # serve said at start how the descriptor limit bounds the web server
    assert re.search(
        r"warning: the descriptor limit \(1024\) leaves the web server \d+ connections",
        srv.output(),
    ), srv.output()


def test_a_thousand_idle_connections_from_many_clients_do_not_fail_a_check(
    tmp_path: Path,
) -> None:
    """Past the overall limit, new connections get a 503 and close; checks keep their budget."""
    sources = [f"127.0.0.{i}" for i in range(2, 42)]  # 25 each: under the per-client limit
    with healthy_target() as target, serve(tmp_path, _config(target), nofile=NOFILE) as srv:
        wait_for("a first good result", lambda: _results_since(srv.count, 0)[0] >= 1)
        with idle_connections(srv.port, sources, IDLE) as held:
            time.sleep(1.0)
            start = time.time()
            time.sleep(6)
            ok, bad = _results_since(srv.count, start)
            # connections over the limit were answered 503 and closed, not left hanging
            refused = 0
            for s in held:
                s.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    if s.recv(64).startswith(b"HTTP/1.1 503"):
                        refused += 1
        assert bad == 0, srv.output()
        assert ok >= 3, srv.output()
        assert refused > 0
        metrics = srv.get("/metrics").body.decode()
        assert "prodshield_web_connections_refused_total" in metrics
        assert "prodshield_web_connection_limit" in metrics
        assert srv.get("/healthz").status == 200
        ready = srv.get("/readyz").json()
        assert ready["status"] == "degraded" and "web:connections" in ready["problems"], ready


def test_a_client_that_sends_its_headers_or_body_slowly_is_cut_off(tmp_path: Path) -> None:
    with (
        healthy_target() as target,
        serve(tmp_path, _config(target, ", limits: {header_timeout: 2s}")) as srv,
    ):
        idle = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
        slow = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed_at: float | None = None
        try:
            while time.monotonic() - started < 15:
                slow.sendall(b"X-Slow: 1\r\n")  # a header line every half second, never the end
                time.sleep(0.5)
        except OSError:
            closed_at = time.monotonic() - started
        assert closed_at is not None and closed_at < 10
        idle.settimeout(10)
        assert idle.recv(1024) == b""  # the idle one was closed by the server too
        idle.close()
        slow.close()
        # a keep-alive connection that then dribbles its next request is cut off too
        kept = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        with contextlib.suppress(OSError):
            kept.sendall(b"GET /healthz HTTP/1.1\r\n")
            while time.monotonic() - started < 15:
                kept.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.5)
        assert time.monotonic() - started < 10
        kept.close()
        # a whole head, then a body of 1,000 announced bytes a byte at a time: the deadline is for
        # the whole request, body included (authorised or not, read by the route or not)
        for path, auth in [
            ("/api/v1/incidents", f"Authorization: Bearer {TOKEN}\r\n"),
            ("/api/v1/incidents", ""),
            ("/heartbeat/unknown", ""),
        ]:
            assert _dribbled_body(srv.port, path, auth) < 10, path
        metrics = srv.get("/metrics").body.decode()
        timeouts = re.search(r"^prodshield_web_header_timeouts_total (\S+)$", metrics, re.M)
        assert timeouts is not None and float(timeouts.group(1)) >= 6, metrics[-2000:]


def _dribbled_body(port: int, path: str, auth: str) -> float:
    """Seconds until serve closes a connection whose POST body comes a byte every 0.2 s (15 s:
    still open)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n{"
    )
    sock.sendall(head.encode())
    sock.settimeout(0.2)
    started = time.monotonic()
    try:
        while time.monotonic() - started < 15:
            sock.sendall(b" ")
            with contextlib.suppress(TimeoutError):
                if sock.recv(65536) == b"":
                    break
    except OSError:
        pass
    finally:
        sock.close()
    return time.monotonic() - started


def _busy(held: list[socket.socket], wait: float = 3.0) -> int:
    """How many of ``held`` were answered 503 and closed by the server."""
    time.sleep(wait)
    refused = 0
    for s in held:
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            if s.recv(64).startswith(b"HTTP/1.1 503"):
                refused += 1
    return refused


def test_the_per_client_limit_spares_a_trusted_proxy(tmp_path: Path) -> None:
    extra = ', trusted_proxies: ["127.0.0.2"], limits: {max_connections_per_client: 5}'
    with healthy_target() as target, serve(tmp_path, _config(target, extra)) as srv:
        with idle_connections(srv.port, ["127.0.0.2"], 20) as proxy:
            assert _busy(proxy) == 0  # all its clients come through the proxy
        with idle_connections(srv.port, ["127.0.0.3"], 20) as client:
            # over its 5: PROBE_SLOTS wait for a health probe's request line, the rest get the 503
            assert _busy(client) == 15 - PROBE_SLOTS


def test_ipv6_clients_count_per_64() -> None:
    assert (
        client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    )
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key("192.0.2.7") == "192.0.2.7"


def _ask(port: int, request: bytes, source: str = "127.0.0.3") -> bytes:
    """Send ``request`` from ``source`` on a new connection; what came back before it closed."""
    s = socket.socket()
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        return answer
    finally:
        s.close()


def test_a_client_at_its_connection_limit_still_gets_its_health_probes(tmp_path: Path) -> None:
    """The per-client limit refuses pages, not /healthz and /readyz (docs/web.md: they answer
    under any load): one slow client behind the same address must not fail liveness."""
    extra = ", limits: {max_connections_per_client: 5}"
    with healthy_target() as target, serve(tmp_path, _config(target, extra)) as srv:
        with idle_connections(srv.port, ["127.0.0.3"], 5):
            time.sleep(0.5)
            for path in (b"/healthz", b"/readyz", b"/healthz?full=1"):
                answer = _ask(srv.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                assert answer.startswith(b"HTTP/1.1 200"), (path, answer[:200])
            assert _ask(srv.port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n").startswith(
                b"HTTP/1.1 200"
            )
            # a probe's connection is closed after it: a pipelined page is not answered
            answer = _ask(
                srv.port,
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/checks HTTP/1.1\r\nHost: x\r\n\r\n",
            )
            assert answer.count(b"HTTP/1.1 ") == 1 and answer.startswith(b"HTTP/1.1 200"), answer
            # everything else from that client is still refused
            for request in (
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /api/v1/checks HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST /healthz HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n",
                b"GET /healthzz HTTP/1.1\r\nHost: x\r\n\r\n",
            ):
                assert _ask(srv.port, request).startswith(b"HTTP/1.1 503"), request
            # idle probe-only connections are bounded too: a few, then the 503 at once
            with idle_connections(srv.port, ["127.0.0.3"], 10) as extra_idle:
                assert _busy(extra_idle, wait=1.0) == 10 - PROBE_SLOTS
        ready = srv.get("/readyz").json()
        assert "in the last 5 minutes" in ready["problems"]["web:connections"], ready


def _closed_by_server(held: list[socket.socket], within: float) -> int:
    """How many of ``held`` the server closed (with nothing sent) within ``within`` seconds."""
    closed = 0
    deadline = time.monotonic() + within
    for s in held:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(OSError):
            if s.recv(64) == b"":
                closed += 1
    return closed


def test_a_server_at_its_overall_limit_still_answers_health_probes(tmp_path: Path) -> None:
    """At the overall limit every new connection got the 503, probes too: a load balancer marked
    a busy instance down. A few connections past the limit now answer /healthz and /readyz only;
    a non-probe request on one gets the 503, and an idle one is closed well before
    header_timeout, so a hostile client cannot hold the reserve."""
    extra = ", limits: {max_connections: 32, header_timeout: 120s}"
    fillers = [f"127.0.0.{i}" for i in range(10, 14)]
    with healthy_target() as target, serve(tmp_path, _config(target, extra)) as srv:
        with idle_connections(srv.port, fillers, 32) as full:
            assert len(full) == 32
            wait_for(
                "the server full",
                lambda: _ask(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(
                    b"HTTP/1.1 503"
                ),
            )
            for path in (b"/healthz", b"/readyz"):
                answer = _ask(srv.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                assert answer.startswith(b"HTTP/1.1 200"), (path, answer[:200])
            # a probe's connection is closed after it: a pipelined page is not answered
            answer = _ask(
                srv.port,
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/checks HTTP/1.1\r\nHost: x\r\n\r\n",
            )
            assert answer.count(b"HTTP/1.1 ") == 1 and answer.startswith(b"HTTP/1.1 200"), answer
            for request in (
                b"GET /api/v1/checks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + TOKEN.encode()
                + b"\r\n\r\n",
                b"POST /readyz HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n",
            ):
                assert _ask(srv.port, request).startswith(b"HTTP/1.1 503"), request
            # idle connections take the reserve (at most PROBE_SLOTS from one client), then the
            # 503 at once; the idle ones are closed within seconds, not after header_timeout
            hostile = [f"127.0.0.{i}" for i in range(20, 24)]
            with idle_connections(srv.port, hostile, PROBE_RESERVE + 4) as idle:
                refused: set[socket.socket] = set()

                def four_refused() -> bool:
                    for s in idle:
                        s.setblocking(False)
                        with contextlib.suppress(BlockingIOError):
                            if s not in refused and s.recv(64).startswith(b"HTTP/1.1 503"):
                                refused.add(s)
                    return len(refused) >= 4

                wait_for("four idle connections past the reserve refused", four_refused, 30)
                waiting = [s for s in idle if s not in refused]
                assert len(refused) == 4 and len(waiting) == PROBE_RESERVE
                assert _closed_by_server(waiting, within=20) == PROBE_RESERVE
            # the reserve is free again
            answer = _ask(srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "127.0.0.5")
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        metrics = srv.get("/metrics").body.decode()
        refused_overall = re.search(
            r'^prodshield_web_connections_refused_total\{limit="overall"\} (\S+)$', metrics, re.M
        )
        # the two non-probe requests, the four past the reserve, the pages while it filled
        assert refused_overall is not None and float(refused_overall.group(1)) >= 6, metrics
