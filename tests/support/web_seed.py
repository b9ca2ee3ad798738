"""Shared seeding for the web tests: a config and rows written straight into the store tables."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from prodshield.config import LoadedConfig, parse_config
from prodshield.store import Store
from prodshield.store import tables as t

TOKEN = "test-token-0123456789abcdef"
HEARTBEAT_TOKEN = "hb_" + "k" * 29
AUTH = {"Authorization": f"Bearer {TOKEN}"}

CONFIG = """
storage: sqlite:///unused.db
serve: {title: "Acme status"}
environments:
  production: {vars: {base: "http://127.0.0.1:9"}}
  staging: {vars: {base: "http://127.0.0.1:9"}, interval: 2m}
checks:
  - name: website
    type: http
    url: "{base}/"
    environments: [production, staging]
    group: Website
    interval: 30s
    conditions: ["[STATUS] == 200", "[RESPONSE_TIME] < 500"]
  - name: api
    type: http
    url: "{base}/api"
    environments: [production]
    group: API
  - name: cache
    type: tcp
    host: 127.0.0.1
    port: 9
    interval: 5s
    timeout: 10s
  - name: nightly-backup
    type: heartbeat
    period: 24h
"""


def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows one by one (they need not share the same keys)."""
    for row in rows:
        conn.execute(table.insert().values(**row))


def loaded_config(tmp_path: Path) -> LoadedConfig:
    path = tmp_path / "shield.yaml"
    path.write_text(CONFIG)
    return parse_config(CONFIG, name=str(path), env={}, fs_path=path)


def seed(store: Store, now: float | None = None) -> dict[str, Any]:
    """Results, states, aggregates, an open and a resolved incident, findings and the outbox."""
    now = time.time() if now is None else now
    hour = int(now) // 3600 * 3600
    with store.begin() as conn:
        _insert(
            conn,
            t.check_results,
            [
                {
                    "check_name": "website",
                    "environment": "production",
                    "ts": now - 60 * i,
                    "ok": True,
                    "response_time_ms": 40.0 + i,
                    "conditions": [
                        {"expr": "[STATUS] == 200", "ok": True, "actual": "200"},
                        {"expr": "[RESPONSE_TIME] < 500", "ok": True, "actual": str(40 + i)},
                    ],
                }
                for i in range(5)
            ]
            + [
                {
                    "check_name": "website",
                    "environment": "staging",
                    "ts": now - 30,
                    "ok": False,
                    "response_time_ms": None,
                    "error_kind": "refused",
                    "error_message": "connection refused",
                    "conditions": [{"expr": "[STATUS] == 200", "ok": False, "actual": None}],
                },
            ],
        )
        _insert(
            conn,
            t.check_state,
            [
                {
                    "check_name": "website",
                    "environment": "production",
                    "status": "up",
                    "consecutive_successes": 5,
                    "last_ts": now,
                    "last_ok": True,
                    "updated_at": now,
                },
                {
                    "check_name": "website",
                    "environment": "staging",
                    "status": "down",
                    "consecutive_failures": 4,
                    "last_ts": now - 30,
                    "last_ok": False,
                    "last_error_kind": "refused",
                    "updated_at": now,
                },
                {
                    "check_name": "api",
                    "environment": "production",
                    "status": "up",
                    "last_ts": now - 10,
                    "last_ok": True,
                    "updated_at": now,
                },
            ],
        )
        # 30 days of hourly aggregates for website@production: one failure in every 20th hour.
        conn.execute(
            t.check_hourly.insert(),
            [
                {
                    "check_name": "website",
                    "environment": "production",
                    "hour": hour - h * 3600,
                    "count": 120,
                    "failures": 1 if h % 20 == 0 else 0,
                    "sum_ms": 120 * (40.0 + h % 7),
                    "p50_ms": 40.0,
                    "p95_ms": 60.0,
                }
                for h in range(30 * 24)
            ]
            + [
                {
                    "check_name": "website",
                    "environment": "staging",
                    "hour": hour - h * 3600,
                    "count": 30,
                    "failures": 30 if h < 2 else 0,
                    "sum_ms": 30 * 80.0,
                    "p50_ms": 80.0,
                    "p95_ms": 90.0,
                }
                for h in range(48)
            ],
        )
        _insert(
            conn,
            t.incidents,
            [
                {
                    "check_name": "website",
                    "environment": "staging",
                    "status": "open",
                    "opened_at": now - 5400,
                    "last_error_kind": "refused",
                },
                {
                    "check_name": "api",
                    "environment": "production",
                    "status": "resolved",
                    "opened_at": now - 3 * 86400,
                    "resolved_at": now - 3 * 86400 + 720,
                    "resolved_by": "monitor",
                },
            ],
        )
        _insert(
            conn,
            t.log_findings,
            [
                {
                    "fingerprint": "fp-brute",
                    "category": "security",
                    "kind": "brute_force",
                    "severity": "high",
                    "count": 42,
                    "first_seen": now - 600,
                    "last_seen": now - 60,
                    "samples": ["Failed password for root from 10.0.0.9"],
                    "message": "42 failed logins from 10.0.0.9 (root, admin)",
                    "created_at": now - 600,
                },
                {
                    "fingerprint": "fp-oom",
                    "category": "critical",
                    "kind": "out_of_memory",
                    "severity": "critical",
                    "count": 1,
                    "first_seen": now - 300,
                    "last_seen": now - 300,
                    "message": "Out of memory: killed process 4242 (java) on web-1",
                    "created_at": now - 300,
                },
            ],
        )
        key = conn.execute(
            t.audit_runs.insert().values(
                started_at=now - 100, finished_at=now - 90, fail_on="high", passed=False
            )
        ).inserted_primary_key
        assert key is not None
        run_id = key[0]
        _insert(
            conn,
            t.audit_findings,
            [
                {
                    "run_id": run_id,
                    "family": "permissions",
                    "rule": "permissions.world-readable-secret",
                    "severity": "high",
                    "title": "config/.env is world-readable",
                    "path": "config/.env",
                    "fingerprint": "a1",
                },
                {
                    "run_id": run_id,
                    "family": "config",
                    "rule": "config.placeholder-secret-key",
                    "severity": "medium",
                    "title": "DEBUG=true in production settings",
                    "message": "SECRET_KEY is a guessable placeholder (8 chars)",
                    "fix": "Generate a long random SECRET_KEY and read it from the environment.",
                    "path": "settings.py",
                    "line": 3,
                    "fingerprint": "a2",
                },
            ],
        )
        _insert(
            conn,
            t.log_templates,
            [
                {
                    "id": "tpl1",
                    "template": "GET <*> 200",
                    "count": 900,
                    "first_seen": now - 7200,
                    "last_seen": now,
                }
            ],
        )
        _insert(
            conn,
            t.log_template_counts,
            [{"template_id": "tpl1", "hour": hour - h * 3600, "count": 100 + h} for h in range(3)],
        )
        _insert(
            conn,
            t.experiment_journals,
            [
                {
                    "title": "database drops connections",
                    "status": "completed",
                    "deviated": False,
                    "started_at": now - 4000,
                    "ended_at": now - 3940,
                    "journal": {"run": [{"activity": "a"}, {"activity": "b"}]},
                }
            ],
        )
        _insert(
            conn,
            t.outbox,
            [
                {
                    "idempotency_key": "k1",
                    "notifier": "github",
                    "event_type": "incident.opened",
                    "subject": "website@staging down",
                    "payload": {},
                    "status": "dead",
                    "attempts": 8,
                    "next_attempt_at": now,
                    "last_error": "401 bad credentials",
                    "created_at": now - 500,
                },
                {
                    "idempotency_key": "k2",
                    "notifier": "slack",
                    "event_type": "incident.opened",
                    "payload": {},
                    "status": "pending",
                    "next_attempt_at": now,
                    "created_at": now - 100,
                },
            ],
        )
        conn.execute(
            t.heartbeats.insert().values(
                check_name="nightly-backup", token=HEARTBEAT_TOKEN, pings=0
            )
        )
    return {"now": now, "audit_run": run_id}


DIGEST_MARKDOWN = """# Daily log digest

_1200 events: 1 critical, 2 security, 1 performance, 0 trend_ · generated 2026-12-04 21:00 UTC

## Critical alerts

- **db_connection_failure** x3 (file=app.log, 12-04 20:01): could not connect <script>window.pwned=1</script> [login again](https://evil.example/)

## Security

brute_force: 30, auth_failure: 12

| brute force from | attempts | peak in window | users tried |
| --- | ---: | ---: | --- |
| 10.0.0.9 | 30 | 12 | root, admin |

## Performance

| endpoint | requests | 5xx rate | p50 | p95 | p99 |
| --- | ---: | ---: | ---: | ---: | ---: |
| GET /api/orders | 420 | 2.4% | 31 ms | 180 ms | 420 ms |
"""


def seed_history(store: Store, now: float | None = None) -> None:
    """Three hours of results a minute apart for two checks, a failed and a deviated chaos run,
    a stored digest, and a resolved incident whose end a bad clock put before its start."""
    now = time.time() if now is None else now
    rows = []
    for check in ("website", "api"):
        for i in range(5 if check == "website" else 0, 180):
            failed = check == "website" and i in (40, 41, 90)
            rows.append(
                {
                    "check_name": check,
                    "environment": "production",
                    "ts": now - 60 * i - 7,
                    "ok": not failed,
                    "response_time_ms": None if failed else 40.0 + 25 * ((i % 30) / 30) + i % 4,
                    "error_kind": "timeout" if failed else None,
                }
            )
    with store.begin() as conn:
        conn.execute(t.check_results.insert(), rows)
        _insert(
            conn,
            t.experiment_journals,
            [
                {
                    "title": "payments survive a slow database",
                    "status": "failed",
                    "deviated": True,
                    "started_at": now - 900,
                    "ended_at": now - 840,
                    "journal": {"run": [{"activity": "a"}]},
                },
                {
                    "title": "cache outage",
                    "status": "failed",
                    "deviated": False,
                    "started_at": now - 800,
                    "ended_at": now - 790,
                    "journal": {"run": []},
                },
            ],
        )
        _insert(
            conn,
            t.incidents,
            [
                {
                    "check_name": "api",
                    "environment": "production",
                    "kind": "flapping",
                    "status": "resolved",
                    "opened_at": now - 2 * 86400,
                    "resolved_at": now - 2 * 86400 - 80,
                    "resolved_by": "monitor",
                }
            ],
        )
    store.kv_set(
        "logs",
        "digest",
        {
            "generated_at": "2026-12-04T21:00:00.990101+00:00",
            "summary": "1200 events: 1 critical, 2 security, 1 performance, 0 trend",
            "markdown": DIGEST_MARKDOWN,
        },
    )


def login(c: TestClient) -> str:
    """Sign in through the form like a browser; return the session's CSRF token."""
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = c.post(
        "/login",
        data={"token": TOKEN, "csrf": csrf.group(1), "next": "/dashboard"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    dash = c.get("/dashboard")
    assert dash.status_code == 200
    m = re.search(r'name="csrf" value="([^"]+)"', dash.text)
    assert m
    return m.group(1)
