"""Hostile HTTP clients of a real `serve`: an API body is never held past its cap, and a client
that hangs up in the middle of its body leaves no traceback in serve's log; a domain error is
the caller's (404/409/400), not the store's 503.

Before the fix a 300 MB JSON body sent to `POST /api/v1/deploys` was read whole (serve's peak
RSS went from 119 MB to 734 MB), and a client that sent part of a body and left logged
`Exception in ASGI application ... ClientDisconnect` with a full traceback.
"""

from __future__ import annotations

import re
import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from prodshield.errors import Conflict, Invalid, NotFound
from prodshield.store import Store
from prodshield.web import create_app
from prodshield.web.api import MAX_BODY
from prodshield.web.services import Services
from support.serve_process import TOKEN, login, raw_http, serve, session_of, wait_for
from support.web_seed import loaded_config

CONFIG = f"""
storage: "sqlite:///{{db}}"
checks:
  - {{name: web, type: tcp, host: 127.0.0.1, port: 9, interval: 1h}}
serve: {{host: 127.0.0.1, port: {{port}}, token: "{TOKEN}"}}
"""

AUTH = f"Authorization: Bearer {TOKEN}\r\n"


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _chunked_flood(port: int, total: int) -> bytes:
    """POST ``total`` bytes of a JSON string in 64 KiB chunks, without a Content-Length; stop
    sending as soon as the server answers or closes, and return its answer."""
    head = (
        f"POST /api/v1/deploys HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    chunk = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        sent = 0
        try:
            while sent < total:
                s.sendall(chunk)
                sent += 0x10000
        except OSError:
            pass  # the server answered and closed: what it said is still in our buffer
        answer = b""
        try:
            while data := s.recv(65536):
                answer += data
        except OSError:
            pass
    return answer


def test_api_bodies_past_the_cap_are_refused_without_being_read(tmp_path: Path) -> None:
    with serve(tmp_path, CONFIG) as srv:
        # a declared length past the cap: 413 before a byte of the body is sent
        answer = raw_http(
            srv.port,
            (
                f"POST /api/v1/deploys HTTP/1.1\r\nHost: x\r\n{AUTH}"
                f"Content-Type: application/json\r\nContent-Length: {50 * MAX_BODY}\r\n"
                "Connection: close\r\n\r\n"
            ).encode(),
        )
        assert _status(answer) == 413, answer[:300]
        assert b"larger than" in answer
        # no length declared (chunked): the read stops at the cap, whatever is still coming
        answer = _chunked_flood(srv.port, 64 * MAX_BODY)
        assert answer, "serve did not answer the flood"
        assert _status(answer) == 413, answer[:300]
        # a body within the cap is still read and answered
        ok = srv.get(
            "/api/v1/deploys",
            method="POST",
            data=b'{"service": "web", "version": "1.2.3"}',
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert ok.status in (200, 201), ok.body
        assert "Traceback" not in srv.output()


def test_a_client_that_leaves_in_the_middle_of_its_body_leaves_no_traceback(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, CONFIG) as srv:
        for path in ("/api/v1/deploys", "/api/v1/incidents", "/heartbeat/" + "a" * 20):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
                s.sendall(
                    (
                        f"POST {path} HTTP/1.1\r\nHost: x\r\n{AUTH}"
                        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
                    ).encode()
                )
                time.sleep(0.3)  # the handler is now waiting for the rest of the body
        # serve still answers, and its log holds no traceback for the clients that left
        wait_for("serve to answer", lambda: srv.get("/healthz", timeout=5).status == 200)
        time.sleep(0.5)
        log = srv.output()
        assert "Traceback" not in log, log[-3000:]
        assert "ClientDisconnect" not in log


def test_a_domain_error_no_handler_caught_is_the_callers_not_a_503(
    store: Store, tmp_path: Path
) -> None:
    """Schemathesis found `POST /api/v1/checks/web/run?environment=` answered 503 (the code for
    "store unavailable") with "no environment named ''": the monitor's NotFound fell through."""

    async def run_now(check: str, environment: str | None) -> list[dict[str, Any]]:
        raise {"gone": NotFound, "busy": Conflict, "bad": Invalid}[check](f"{check} {environment}")

    app = create_app(loaded_config(tmp_path), store, token=TOKEN, services=Services())
    app.state.ctx.services.run_check = run_now
    app.state.ctx.model.names.update({"gone", "busy", "bad"})
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        got = {
            name: client.post(f"/api/v1/checks/{name}/run", headers=auth).status_code
            for name in ("gone", "busy", "bad")
        }
    assert got == {"gone": 404, "busy": 409, "bad": 400}


def test_what_the_api_answers_a_token_or_a_session_is_never_cached(tmp_path: Path) -> None:
    """Before the fix the JSON API's answers (findings, incidents, checks: read with the token or
    a dashboard session) carried no Cache-Control, so a browser's disk cache or a shared proxy
    could keep them; the dashboard's pages were already `no-store`."""
    with serve(tmp_path, CONFIG) as srv:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for path in ("/api/v1/checks", "/api/v1/findings", "/api/v1/incidents", "/api/v1/deploys"):
            answer = srv.get(path, headers=auth)
            assert answer.status == 200, (path, answer.body[:200])
            assert answer.headers.get("cache-control") == "no-store", (path, answer.headers)
        refused = srv.get("/api/v1/findings")
        assert refused.status == 401 and refused.headers.get("cache-control") == "no-store"


def test_a_dashboard_url_naming_a_huge_row_id_is_refused_not_a_500(tmp_path: Path) -> None:
    """Before the fix `GET /dashboard/incidents/99999999999999999999999` and a dashboard button
    posted to `/dashboard/incidents/99999999999999999999999/ack` answered 500 with a traceback
    (OverflowError: Python int too large to convert to SQLite INTEGER); the API already said 400."""
    huge = "9" * 23
    with serve(tmp_path, CONFIG) as srv:
        status, cookies = login(srv, TOKEN)
        assert status == 303
        cookie = {"Cookie": f"prodshield_session={session_of(cookies)}"}
        page = srv.get("/dashboard/incidents", headers=cookie)
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page.body)
        assert page.status == 200 and csrf is not None
        assert srv.get(f"/dashboard/incidents/{huge}", headers=cookie).status == 404
        for kind, action in (("incidents", "ack"), ("silences", "expire"), ("outbox", "retry")):
            answer = srv.get(
                f"/dashboard/{kind}/{huge}/{action}",
                method="POST",
                headers={**cookie, "Content-Type": "application/x-www-form-urlencoded"},
                data=urllib.parse.urlencode({"csrf": csrf.group(1).decode()}).encode(),
            )
            assert answer.status == 400, (kind, answer.status, answer.body[:300])
        log = srv.output()
        assert "Traceback" not in log, log[-3000:]


def test_a_flood_of_metrics_scrapes_shares_renders(tmp_path: Path) -> None:
    """`/metrics` is public and, for 2,000 checks, 2.6 MB and about 0.3 s of CPU a render. Before
    the fix each request rendered it again: 200 concurrent scrapers kept serve's CPU busy (and
    other pages timed out). Now requests that arrive while it renders get the previous body or
    share that render, so 40 at once cost a few renders, not 40 (each render differs: the
    process and heap series move)."""
    checks = "".join(
        f"  - {{name: c{i:04d}, type: tcp, host: 127.0.0.1, port: 9, interval: 24h}}\n"
        for i in range(2000)
    )
    config = CONFIG.replace("checks:\n", "checks:\n" + checks)
    with serve(tmp_path, config) as srv:
        wait_for(
            "every check's first result",
            lambda: srv.get("/metrics", timeout=30).body.count(b"prodshield_check_up{") == 2001,
        )
        with ThreadPoolExecutor(40) as pool:
            bodies = list(pool.map(lambda _: srv.get("/metrics", timeout=60).body, range(40)))
        assert all(b"prodshield_check_up{" in body for body in bodies)
        assert len(set(bodies)) <= 8, len(set(bodies))
        # a scrape after them is rendered afresh
        assert srv.get("/metrics").body not in set(bodies)
