"""The JSON API, sessions, CSRF, /metrics, heartbeats and the OpenAPI document, on both backends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from starlette.testclient import TestClient

from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web import Services, create_app
from prodshield.web.api import WRITE_ROUTES
from support.web_seed import AUTH, HEARTBEAT_TOKEN, TOKEN, loaded_config, login, seed


def _incident_id(store: Store, status: str) -> int:
    i = t.incidents
    with store.connect() as conn:
        return int(conn.execute(select(i.c.id).where(i.c.status == status)).scalar_one())


def test_checks_list_has_state_last_result_and_uptime(client: TestClient) -> None:
    r = client.get("/api/v1/checks", headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    by_key = {(c["name"], c["environment"]): c for c in body["checks"]}
    # every configured target, including those never run (heartbeat, cache) as unknown
    assert set(by_key) == {
        ("website", "production"),
        ("website", "staging"),
        ("api", "production"),
        ("cache", None),
        ("nightly-backup", None),
    }
    prod = by_key[("website", "production")]
    assert prod["status"] == "up"
    assert prod["last_result"] is None or prod["last_result"]["ok"] is True
    # the current hour from its 5 raw results (all up; from the hour before when they straddle
    # it), the 23 (22) before from the aggregates: 120 results each, one failure (h=20)
    assert prod["uptime"]["24h"] == pytest.approx(100 * (23 * 120 + 4) / (23 * 120 + 5), abs=0.01)
    assert 99.0 < prod["uptime"]["30d"] < 100.0
    staging = by_key[("website", "staging")]
    assert staging["status"] == "down"
    assert staging["last_result"]["error_kind"] == "refused"
    assert staging["last_result"]["error"] == "connection refused"
    assert staging["open_incident"] is not None
    assert by_key[("cache", None)]["status"] == "unknown"
    down = client.get("/api/v1/checks?status=down", headers=AUTH).json()
    assert [c["name"] for c in down["checks"]] == ["website"]


def test_check_detail_has_recent_condition_values(client: TestClient) -> None:
    r = client.get("/api/v1/checks/website", headers=AUTH)
    assert r.status_code == 200
    detail = r.json()
    envs = {e["environment"]: e for e in detail["environments"]}
    recent = envs["production"]["recent_results"]
    assert len(recent) == 5
    assert recent[0]["conditions"][1] == {
        "expr": "[RESPONSE_TIME] < 500",
        "ok": True,
        "actual": "40",
    }
    assert len(envs["production"]["daily"]) == 90
    assert envs["production"]["interval_s"] == 30.0
    assert envs["staging"]["interval_s"] == 120.0
    assert client.get("/api/v1/checks/nope", headers=AUTH).status_code == 404


def test_reads_need_the_token(client: TestClient) -> None:
    for path in (
        "/api/v1/checks",
        "/api/v1/checks/website",
        "/api/v1/incidents",
        "/api/v1/findings",
    ):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(path, headers=AUTH).status_code == 200
    # public endpoints
    for path in ("/", "/healthz", "/readyz", "/api/v1/openapi.json", "/metrics", "/login"):
        assert client.get(path).status_code == 200, path


def _write_path(template: str, incident: int) -> str:
    return template.replace("{name}", "website").replace("{id}", str(incident))


def test_every_state_changing_endpoint_is_refused_without_token_or_csrf(
    client: TestClient, store: Store
) -> None:
    assert len(WRITE_ROUTES) >= 5
    # one wrong token per route: more routes than the throttle's ten a minute (tested elsewhere)
    client.app.state.ctx.guard.max_failures = 1_000_000  # type: ignore[attr-defined]
    incident = _incident_id(store, "open")
    for method, template in WRITE_ROUTES:
        path = _write_path(template, incident)
        assert client.request(method, path).status_code == 401, path
        r = client.request(method, path, headers={"Authorization": f"Bearer {TOKEN}x"})
        assert r.status_code == 401, path
    csrf = login(client)
    for method, template in WRITE_ROUTES:
        path = _write_path(template, incident)
        r = client.request(method, path, json={"text": "x"})
        assert r.status_code == 403, (path, r.text)
        assert "CSRF" in r.json()["error"]
        r = client.request(method, path, json={"text": "x"}, headers={"X-CSRF-Token": "forged"})
        assert r.status_code == 403, path
    # with the session's CSRF token the same calls pass authorization
    for method, template in WRITE_ROUTES:
        path = _write_path(template, incident)
        r = client.request(method, path, json={"text": "x"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code not in (401, 403), (path, r.status_code, r.text)


def test_dashboard_forms_need_csrf(client: TestClient, store: Store) -> None:
    incident = _incident_id(store, "open")
    assert client.post(f"/dashboard/incidents/{incident}/ack").status_code == 401
    csrf = login(client)
    r = client.post(f"/dashboard/incidents/{incident}/ack", data={"csrf": "nope"})
    assert r.status_code == 403
    r = client.post(
        f"/dashboard/incidents/{incident}/ack", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get(f"/api/v1/incidents/{incident}", headers=AUTH).json()["acknowledged_by"] == (
        "operator"  # the session logged in with serve.token
    )
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_acknowledge_note_and_resolve(client: TestClient, store: Store) -> None:
    incident = _incident_id(store, "open")
    r = client.post(f"/api/v1/incidents/{incident}/ack", headers=AUTH, json={"note": "looking"})
    assert r.status_code == 200
    body = r.json()
    assert body["acknowledged_by"] == "operator" and body["acknowledged_at"] is not None
    assert body["notes"][0]["text"] == "looking"
    first_ack = body["acknowledged_at"]
    again = client.post(f"/api/v1/incidents/{incident}/ack", headers=AUTH).json()
    assert again["acknowledged_at"] == first_ack
    r = client.post(f"/api/v1/incidents/{incident}/notes", headers=AUTH, json={"text": "  "})
    assert r.status_code == 400
    r = client.post(
        f"/api/v1/incidents/{incident}/notes", headers=AUTH, json={"text": "DNS", "by": "alice"}
    )
    assert [n["by"] for n in r.json()["notes"]] == ["operator", "alice (via operator)"]
    r = client.post(f"/api/v1/incidents/{incident}/resolve", headers=AUTH, json={})
    assert r.json()["status"] == "resolved" and r.json()["resolved_by"] == "manual"
    open_now = client.get("/api/v1/incidents?status=open", headers=AUTH).json()["incidents"]
    assert open_now == []
    assert client.post("/api/v1/incidents/999999/ack", headers=AUTH).status_code == 404
    bad = client.post(f"/api/v1/incidents/{incident}/ack", headers=AUTH, content=b"{not json")
    assert bad.status_code == 400
    assert client.get("/api/v1/incidents?limit=0", headers=AUTH).status_code == 400


def test_run_check_needs_the_monitor_hook(store: Store, tmp_path: Path) -> None:
    seed(store)
    calls: list[tuple[str, str | None]] = []

    async def run_now(check: str, environment: str | None) -> list[dict[str, Any]]:
        calls.append((check, environment))
        return [{"check": check, "environment": environment, "ok": True}]

    loaded = loaded_config(tmp_path)
    with TestClient(create_app(loaded, store, token=TOKEN)) as c:
        r = c.post("/api/v1/checks/website/run", headers=AUTH)
        assert r.status_code == 503 and "monitor" in r.json()["error"]
    app = create_app(loaded, store, token=TOKEN, services=Services(run_check=run_now))
    with TestClient(app) as c:
        r = c.post("/api/v1/checks/website/run?environment=staging", headers=AUTH)
        assert r.status_code == 200
        assert r.json()["results"][0]["environment"] == "staging"
        assert c.post("/api/v1/checks/nope/run", headers=AUTH).status_code == 404
        assert (
            c.post("/api/v1/checks/website/run?environment=moon", headers=AUTH).status_code == 404
        )
    assert calls == [("website", "staging")]


def test_findings_from_logs_and_audit(client: TestClient) -> None:
    body = client.get("/api/v1/findings", headers=AUTH).json()
    assert {f["kind"] for f in body["logs"]} == {"brute_force", "out_of_memory"}
    audit = body["audit"]
    assert audit["run"]["passed"] is False
    assert [f["severity"] for f in audit["findings"]] == ["high", "medium"]
    only = client.get("/api/v1/findings?source=audit&severity=medium", headers=AUTH).json()
    assert "logs" not in only and len(only["audit"]["findings"]) == 1
    assert client.get("/api/v1/findings?source=x", headers=AUTH).status_code == 400


def test_outbox_dead_letter_retry(client: TestClient, store: Store) -> None:
    o = t.outbox
    with store.connect() as conn:
        dead = conn.execute(select(o.c.id).where(o.c.status == "dead")).scalar_one()
        pending = conn.execute(select(o.c.id).where(o.c.status == "pending")).scalar_one()
    r = client.post(f"/api/v1/outbox/{dead}/retry", headers=AUTH)
    assert r.status_code == 200
    with store.connect() as conn:
        row = conn.execute(select(o).where(o.c.id == dead)).one()
    assert row.status == "pending" and row.attempts == 0
    not_dead = client.post(f"/api/v1/outbox/{pending}/retry", headers=AUTH)
    assert not_dead.status_code == 409 and "not dead" in not_dead.json()["error"]
    assert client.post("/api/v1/outbox/999999/retry", headers=AUTH).status_code == 404


def test_heartbeat_records_pings_by_token(client: TestClient, store: Store) -> None:
    assert client.get(f"/heartbeat/{HEARTBEAT_TOKEN}").json()["check"] == "nightly-backup"
    assert client.post(f"/heartbeat/{HEARTBEAT_TOKEN}").status_code == 200
    assert client.get("/heartbeat/" + "x" * 32).status_code == 404
    assert client.get("/heartbeat/short").status_code == 404
    with store.connect() as conn:
        row = conn.execute(select(t.heartbeats)).one()
    assert row.pings == 2 and row.last_ping is not None


def test_login_refuses_a_wrong_token_and_sets_strict_cookies(client: TestClient) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = client.post("/login", data={"token": "wrong", "csrf": csrf.group(1)})
    assert r.status_code == 401 and "Wrong token" in r.text
    r = client.post("/login", data={"token": TOKEN, "csrf": "forged"})
    assert r.status_code == 403
    r = client.post(
        "/login",
        data={"token": TOKEN, "csrf": csrf.group(1), "next": "//evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    dash = client.get("/dashboard")
    assert TOKEN not in dash.text
    headers = dash.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_login_is_throttled_after_repeated_failures(client: TestClient) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    codes = [
        client.post("/login", data={"token": f"bad{i}", "csrf": csrf.group(1)}).status_code
        for i in range(12)
    ]
    assert codes[:10] == [401] * 10 and codes[-1] == 429


def test_session_cookie_is_secure_over_https(store: Store, tmp_path: Path) -> None:
    app = create_app(loaded_config(tmp_path), store, token=TOKEN)
    with TestClient(app, base_url="https://127.0.0.1") as c:
        page = c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        r = c.post("/login", data={"token": TOKEN, "csrf": csrf.group(1)}, follow_redirects=False)
        assert "secure" in r.headers["set-cookie"].lower()


def test_openapi_document_is_valid(client: TestClient) -> None:
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for method, template in WRITE_ROUTES:
        assert method.lower() in doc["paths"][template], template
    for path in ("/api/v1/checks", "/api/v1/incidents", "/api/v1/findings", "/healthz"):
        assert path in doc["paths"]


def test_metrics_parse_with_prometheus_parser(client: TestClient) -> None:
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    up = {
        (s.labels["check"], s.labels["environment"]): s.value
        for s in families["prodshield_check_up"].samples
    }
    assert up[("website", "production")] == 1.0 and up[("website", "staging")] == 0.0
    hist = families["prodshield_check_response_time_seconds"]
    counts = [
        s.value
        for s in hist.samples
        if s.name.endswith("_count") and s.labels["environment"] == "production"
    ]
    assert counts == [5.0]
    assert families["prodshield_open_incidents_total"].samples[0].value == 1
    logs = {s.labels["kind"]: s.value for s in families["prodshield_log_findings"].samples}
    assert logs == {"brute_force": 42.0, "out_of_memory": 1.0}
    audit = {s.labels["severity"]: s.value for s in families["prodshield_audit_findings"].samples}
    assert audit == {"high": 1.0, "medium": 1.0}
    assert families["prodshield_outbox_depth"].samples[0].value == 1
    assert "prodshield_scheduler_lag_seconds" not in families
    client.app.state.ctx.metrics.set_scheduler_lag(2.5)  # type: ignore[attr-defined]
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    assert families["prodshield_scheduler_lag_seconds"].samples[0].value == 2.5


def test_metrics_have_the_process_series(client: TestClient) -> None:
    """process_* as any exporter gives them, read from this very process, and the heap gauge."""
    import os
    import sys

    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    rss = families["process_resident_memory_bytes"].samples[0].value
    status = Path(f"/proc/{os.getpid()}/status").read_text()
    vm_rss = int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS")).split()[1]) * 1024
    assert abs(rss - vm_rss) < 0.2 * vm_rss
    fds = families["process_open_fds"].samples[0].value
    assert abs(fds - len(os.listdir(f"/proc/{os.getpid()}/fd"))) <= 5
    blocks = families["prodshield_python_heap_blocks"].samples[0].value
    assert 0.5 * sys.getallocatedblocks() < blocks < 2 * sys.getallocatedblocks()
    assert "python_gc_objects_collected" in families
