"""The web app's security matrix: every route's authorization (from the app's own route table, so a
new route is covered the day it is added), planted secrets that must never reach a page, a report
or the API, path traversal in static files, and the security headers on every response."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from prodshield.config import parse_config
from prodshield.logs.service import LogService
from prodshield.monitor.api import run_once
from prodshield.store import Store
from prodshield.web import create_app
from support.web_seed import TOKEN, loaded_config, login, seed

AUTH = {"Authorization": f"Bearer {TOKEN}"}
PUBLIC = {
    "/",
    "/healthz",
    "/readyz",
    "/api/v1/openapi.json",
    "/metrics",
    "/login",
    "/status/feed.atom",  # the public status page's feed
}
SUBSCRIPTIONS = {"/status/subscribe", "/status/confirm", "/status/unsubscribe"}
"""Public: anyone may subscribe (off in this config: 404); tests/web/test_status_subscriptions.py."""
SAMPLE = {"name": "website", "id": "1", "kind": "incidents", "action": "ack", "token": "x"}


@pytest.fixture
def app_and_store(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    seed(store)
    app = create_app(loaded_config(tmp_path), store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c, store


def _routes(client: TestClient) -> list[tuple[str, str]]:
    out = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((method, route.path))
    return out


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE.get(m.group(1), "x"), path)


def test_every_route_is_public_or_needs_the_token(
    app_and_store: tuple[TestClient, Store],
) -> None:
    client, _ = app_and_store
    # this walk sends hundreds of wrong tokens from one client: the throttle that would answer
    # 429 after ten a minute is tested in tests/security/test_serve_tokens.py
    client.app.state.ctx.guard.max_failures = 1_000_000  # type: ignore[attr-defined]
    routes = _routes(client)
    assert len(routes) >= 25
    checked = 0
    for method, template in routes:
        path = _fill(template)
        if (
            template in PUBLIC
            or template.startswith("/heartbeat/")
            or template.startswith("/badge/")  # README badges of the public status page
            or template in SUBSCRIPTIONS
            # inbound webhooks: the sender's signature is the authentication (test below)
            or template.startswith("/hooks/")
            or template
            in {
                "/login",
                "/logout",
            }
        ):
            continue  # public reads; login/logout are covered by the session tests
        checked += 1
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            r = client.request(method, path, headers=headers, follow_redirects=False)
            if template.startswith("/dashboard") and method == "GET":
                assert r.status_code == 303 and "/login" in r.headers["location"], (method, path)
            else:
                assert r.status_code == 401, (method, path, headers, r.status_code)
        if template.startswith("/dashboard") and method == "POST":
            continue  # browser forms: a session and its CSRF token only (next test)
        r = client.request(method, path, headers=AUTH, follow_redirects=False)
        assert r.status_code not in (401, 403), (method, path, r.status_code)
    assert checked >= 15
    for path in PUBLIC:
        assert client.get(path).status_code == 200, path


def test_a_session_cannot_write_without_its_csrf_token(
    app_and_store: tuple[TestClient, Store],
) -> None:
    client, _ = app_and_store
    csrf = login(client)
    for method, template in _routes(client):
        if (
            method != "POST"
            or template in {"/login", "/logout"}
            or "heartbeat" in template
            or template in SUBSCRIPTIONS
        ):
            continue
        if template.startswith("/hooks/"):
            continue  # a session grants nothing there: the sender's signature does (test_escalation)
        path = _fill(template)
        for extra in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": csrf + "x"}):
            r = client.request(method, path, headers=extra, follow_redirects=False)
            assert r.status_code == 403, (path, extra, r.status_code)
        # a cross-site form post carries the cookie but cannot know the token
        r = client.post(path, data={"csrf": "guess"}, follow_redirects=False)
        assert r.status_code == 403, path


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/....//....//etc/passwd",
        "/static//etc/passwd",
        "/static/%252e%252e/%252e%252e/etc/passwd",
    ],
)
def test_static_files_do_not_escape_their_folder(
    app_and_store: tuple[TestClient, Store], path: str
) -> None:
    client, _ = app_and_store
    r = client.get(path)
    assert r.status_code in (400, 404), (path, r.status_code)
    assert "root:" not in r.text and "[project]" not in r.text


def test_security_headers_on_every_kind_of_response(
    app_and_store: tuple[TestClient, Store],
) -> None:
    client, _ = app_and_store
    login(client)
    for path in ("/", "/dashboard", "/api/v1/checks", "/metrics", "/login", "/nope"):
        r = client.get(path, headers=AUTH if path.startswith("/api") else {})
        h = r.headers
        assert h.get("x-content-type-options") == "nosniff", path
        assert (
            "frame-ancestors 'none'" in h.get("content-security-policy", "")
            or h.get("x-frame-options", "").upper() == "DENY"
        ), path
        assert h.get("referrer-policy"), path
        if r.headers.get("content-type", "").startswith("text/html"):
            csp = h["content-security-policy"]
            assert re.search(r"default-src '(none|self)'", csp), path
            script = re.search(r"script-src ([^;]*)", csp)
            assert script and "unsafe" not in script.group(1), path  # no inline or eval'd script
    r = client.get("/")
    for cookie in r.headers.get_list("set-cookie"):
        assert "httponly" in cookie.lower() and "samesite" in cookie.lower()


# --- planted secrets ---------------------------------------------------------------------------

AWS_KEY = "AKIA" + "QYLPMN5HZ3DRT7XW"
GH_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
DB_PASSWORD = "Xq7-hunter2-Secr3t"
PLANTED = (AWS_KEY, GH_TOKEN, DB_PASSWORD)

SECRET_CONFIG = f"""
storage: sqlite:///unused.db
environments:
  production: {{vars: {{base: "http://deploy:{DB_PASSWORD}@127.0.0.1:9"}}}}
checks:
  - name: website
    type: http
    url: "{{base}}/health?token={GH_TOKEN}"
    environments: [production]
    headers: {{Authorization: "Bearer {GH_TOKEN}"}}
    conditions: ["[STATUS] == 200"]
logs:
  window: 1s
  sources: [{{name: app, path: app.log, format: raw}}]
"""


def test_planted_secrets_never_reach_a_page_a_report_or_the_api(
    store: Store, tmp_path: Path
) -> None:
    cfg_path = tmp_path / "shield.yaml"
    cfg_path.write_text(SECRET_CONFIG)
    loaded = parse_config(SECRET_CONFIG, name=str(cfg_path), env={}, fs_path=cfg_path)
    (tmp_path / "app.log").write_text(
        "\n".join(
            [
                f"2026-11-26 10:00:0{i} ERROR app FATAL could not connect to server "
                f"postgresql://app:{DB_PASSWORD}@10.0.0.5:5432/shop: Connection refused"
                for i in range(5)
            ]
            + [
                f"2026-11-26 10:00:10 WARN app using AWS key {AWS_KEY} for uploads",
                f"2026-11-26 10:00:11 ERROR app GitHub call failed with token {GH_TOKEN}",
                "Traceback (most recent call last):",
                '  File "app.py", line 3, in <module>',
                f"RuntimeError: bad credentials {GH_TOKEN}",
            ]
        )
        + "\n"
    )
    # the real paths: a failing check (its URL and headers carry secrets) and the log service
    for _ in range(3):
        run_once(loaded, store)
    service = LogService(loaded, store, window_s=0.2, poll_s=0.05)
    stop = asyncio.Event()
    thread = threading.Thread(target=service._loop_sync, args=(stop,))
    thread.start()
    time.sleep(1.5)
    stop.set()
    thread.join(30)

    app = create_app(loaded, store, token=TOKEN)
    pages: dict[str, str] = {}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for path in ("/", "/metrics", "/api/v1/checks", "/api/v1/checks/website"):
            pages[path] = client.get(path, headers=AUTH).text
        for path in ("/api/v1/incidents", "/api/v1/findings"):
            pages[path] = client.get(path, headers=AUTH).text
        login(client)
        for path in (
            "/dashboard",
            "/dashboard/checks/website",
            "/dashboard/incidents",
            "/dashboard/logs",
            "/dashboard/notifications",
        ):
            pages[path] = client.get(path).text
    assert (
        "could not connect" in pages["/api/v1/findings"]
        or "db_connection" in pages["/api/v1/findings"]
    ), "the log service stored no finding: the test proves nothing"
    assert '"website"' in pages["/api/v1/checks"]
    leaks = [(path, s[:8]) for path, text in pages.items() for s in PLANTED if s in text]
    assert not leaks, leaks
