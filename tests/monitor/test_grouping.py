"""The grouping window against a real store: openings of one environment within the window join
one waiting outbox row; other environments, and openings after it fell due, do not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.monitor.incidents import CheckOutcome, IncidentEngine
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """
environments: {production: {}, staging: {}}
defaults: {failure_threshold: 1, success_threshold: 1, group_window: 30s}
notifiers:
  ops: {type: webhook, url: "http://127.0.0.1:9/hook"}
checks:
  - {name: a, type: tcp, host: h, port: 1, environments: [production, staging]}
  - {name: b, type: tcp, host: h, port: 1, environments: [production]}
  - {name: c, type: tcp, host: h, port: 1, environments: [production]}
"""
T0 = 1_800_000_000.0


def run(store: Store, eng: IncidentEngine, ts: float, *targets: tuple[str, str]) -> None:
    with store.begin() as conn:
        eng.process(
            conn, [CheckOutcome(c, e, ts, False, "refused", "no") for c, e in targets], now=ts
        )


def outbox(store: Store) -> list[dict[str, Any]]:
    with store.connect() as conn:
        return [r._asdict() for r in conn.execute(select(t.outbox).order_by(t.outbox.c.id))]


def test_openings_within_the_window_join_one_row(store: Store) -> None:
    eng = IncidentEngine(parse_config(CONFIG, env={}).config)
    run(store, eng, T0, ("a", "production"), ("a", "staging"))
    run(store, eng, T0 + 10, ("b", "production"))  # another run, inside the window
    rows = outbox(store)
    assert len(rows) == 2
    prod = next(r for r in rows if r["payload"]["group"]["environment"] == "production")
    assert prod["next_attempt_at"] == T0 + 30
    assert prod["payload"]["fields"]["checks"] == "a, b"
    assert prod["payload"]["title"] == "[production] 2 checks failing together: a, b"
    assert prod["subject"] == "incident:a:production"
    staging = next(r for r in rows if r["payload"]["group"]["environment"] == "staging")
    assert "checks" not in staging["payload"]["fields"]
    with store.connect() as conn:
        b = conn.execute(select(t.incidents).where(t.incidents.c.check_name == "b")).one()
    assert b.refs["grouped_with"] == prod["payload"]["group"]["members"][0]["id"]

    # the group's row fell due: a later opening is a notification of its own
    run(store, eng, T0 + 31, ("c", "production"))
    rows = outbox(store)
    assert len(rows) == 3 and rows[-1]["payload"]["group"]["members"][0]["check"] == "c"
    assert rows[-1]["next_attempt_at"] == T0 + 61
