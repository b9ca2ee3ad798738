"""depends_on: while a parent check is down in an environment, its dependants' incidents are
recorded as suppressed (naming the parent), notified to no one, and listed in the parent's
notifications; unknown parents and cycles are config errors with file:line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.monitor.incidents import CheckOutcome, IncidentEngine
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """
environments: {production: {}, staging: {}}
defaults: {failure_threshold: 1, success_threshold: 1}
notifiers:
  ops: {type: webhook, url: "http://127.0.0.1:9/hook"}
checks:
  - {name: api, type: http, url: "http://api/", depends_on: [db]}
  - {name: db, type: tcp, host: db, port: 5432}
  - {name: web, type: http, url: "http://web/", depends_on: [api]}
"""
T0 = 1_800_000_000.0


def run(store: Store, eng: IncidentEngine, ts: float, results: dict[tuple[str, str], bool]) -> None:
    """One `monitor once`: every result of the run in one transaction (children listed first)."""
    with store.begin() as conn:
        eng.process(
            conn,
            [
                CheckOutcome(check, env, ts, ok, None if ok else "refused", "no")
                for (check, env), ok in results.items()
            ],
        )


def incidents(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(select(t.incidents)).all()
    return {(r.check_name, r.environment): r._asdict() for r in rows}


def outbox(store: Store) -> list[dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(select(t.outbox).order_by(t.outbox.c.id)).all()
    return [r._asdict() for r in rows]


def test_children_of_a_down_parent_are_suppressed_and_listed(store: Store) -> None:
    eng = IncidentEngine(parse_config(CONFIG, env={}).config)
    down = {("web", "production"): False, ("api", "production"): False}
    run(store, eng, T0, {**down, ("db", "production"): False, ("api", "staging"): False})
    inc = incidents(store)
    db = inc[("db", "production")]
    assert db["status"] == "open" and "suppressed_by" not in db["refs"]
    for child, parent in (("api", "db"), ("web", "api")):
        row = inc[(child, "production")]
        assert row["status"] == "open"
        assert row["refs"]["suppressed_by"] == parent
    # staging's db is up: its api incident is a page of its own
    assert "suppressed_by" not in inc[("api", "staging")]["refs"]
    rows = outbox(store)
    assert [r["idempotency_key"] for r in rows] == [
        f"incident:{db['id']}:opened",
        f"incident:{inc[('api', 'staging')]['id']}:opened",
    ]
    assert rows[0]["payload"]["fields"]["suppressed"] == "api"

    # the outage goes on: nothing new for the children; then everything recovers
    run(store, eng, T0 + 60, {**down, ("db", "production"): False})
    assert len(outbox(store)) == 2
    up = {k: True for k in down}
    run(store, eng, T0 + 120, {**up, ("db", "production"): True, ("api", "staging"): True})
    inc = incidents(store)
    assert all(r["status"] == "resolved" for r in inc.values())
    resolved = [r for r in outbox(store) if r["event_type"] == "incident.resolved"]
    assert [r["subject"] for r in resolved] == [
        "incident:db:production",
        "incident:api:staging",
    ]
    assert resolved[0]["payload"]["fields"]["suppressed"] == "api"


def test_a_child_down_before_its_parent_is_not_suppressed(store: Store) -> None:
    eng = IncidentEngine(parse_config(CONFIG, env={}).config)
    run(store, eng, T0, {("api", "production"): False})
    run(store, eng, T0 + 60, {("api", "production"): False, ("db", "production"): False})
    inc = incidents(store)
    assert "suppressed_by" not in inc[("api", "production")]["refs"]
    assert len(outbox(store)) == 2


def test_unknown_parents_and_cycles_are_config_errors_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "shield.yaml"
    path.write_text(
        "storage: sqlite:///x.db\n"
        "checks:\n"
        "  - {name: db, type: tcp, host: h, port: 1, depends_on: [api]}\n"
        "  - name: api\n"
        "    type: tcp\n"
        "    host: h\n"
        "    port: 1\n"
        "    depends_on: [db]\n"
        "  - {name: web, type: tcp, host: h, port: 1, depends_on: [dbb, web]}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PRODSHIELD_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "prodshield", "config", "check", "-c", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert f"{path}:3:" in lines[0] and "dependency cycle: db -> api -> db" in lines[0]
    assert f"{path}:9:" in lines[1] and "unknown check 'dbb' (did you mean 'db'?)" in lines[1]
    assert f"{path}:9:" in lines[2] and "check 'web' depends on itself" in lines[2]
    assert "Traceback" not in done.stderr


def test_a_child_still_down_after_its_parent_recovers_is_paged(store: Store) -> None:
    eng = IncidentEngine(parse_config(CONFIG, env={}).config)
    run(store, eng, T0, {("api", "production"): False, ("db", "production"): False})
    assert [r["subject"] for r in outbox(store)] == ["incident:db:production"]
    run(store, eng, T0 + 60, {("api", "production"): False, ("db", "production"): True})
    api = incidents(store)[("api", "production")]
    assert api["refs"]["was_suppressed_by"] == "db" and "suppressed_by" not in api["refs"]
    assert [(r["subject"], r["event_type"]) for r in outbox(store)] == [
        ("incident:db:production", "incident.opened"),
        ("incident:db:production", "incident.resolved"),
        ("incident:api:production", "incident.opened"),
    ]
    run(store, eng, T0 + 120, {("api", "production"): True})
    assert outbox(store)[-1]["event_type"] == "incident.resolved"
    assert outbox(store)[-1]["subject"] == "incident:api:production"
