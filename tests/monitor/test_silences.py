"""Silences against a real store: which incidents they cover, what they hold back, what is sent
when they end, and the input they refuse."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.errors import Invalid, NotFound
from prodshield.monitor import silences
from prodshield.monitor.incidents import CheckOutcome, IncidentEngine
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """
environments: {production: {}, staging: {}}
defaults: {failure_threshold: 1, success_threshold: 1}
notifiers:
  ops: {type: webhook, url: "http://127.0.0.1:9/hook"}
checks:
  - {name: api, type: http, url: "http://api/", environments: [production, staging]}
  - {name: db, type: tcp, host: db, port: 5432, environments: [production]}
"""
T0 = 1_800_000_000.0


def run(store: Store, eng: IncidentEngine, ts: float, results: dict[tuple[str, str], bool]) -> None:
    with store.begin() as conn:
        eng.process(
            conn,
            [
                CheckOutcome(c, e, ts, ok, None if ok else "refused", "no")
                for (c, e), ok in results.items()
            ],
            now=ts,
        )


def sent(store: Store) -> list[str]:
    with store.connect() as conn:
        return [
            r.idempotency_key for r in conn.execute(select(t.outbox).order_by(t.outbox.c.id)).all()
        ]


def incident(store: Store, check: str, env: str) -> dict[str, Any]:
    with store.connect() as conn:
        row = conn.execute(
            select(t.incidents)
            .where(t.incidents.c.check_name == check, t.incidents.c.environment == env)
            .order_by(t.incidents.c.id.desc())
        ).first()
    assert row is not None
    return row._asdict()


def test_a_silence_holds_the_opening_then_announces_it_once_when_it_expires(
    store: Store,
) -> None:
    config = parse_config(CONFIG, env={}).config
    eng = IncidentEngine(config)
    made = silences.create(
        store, config, check="api", environment="production", seconds=600, reason="deploy",
        by="alice", now=T0,
    )  # fmt: skip
    assert made["active"] and made["until"] == T0 + 600
    run(store, eng, T0 + 10, {("api", "production"): False, ("api", "staging"): False})
    # staging is not covered: it pages; production records the silence and pages no one
    keys = sent(store)
    prod = incident(store, "api", "production")
    assert keys == [f"incident:{incident(store, 'api', 'staging')['id']}:opened"]
    entry = prod["refs"]["silence"]
    assert entry["by"] == "alice" and entry["reason"] == "deploy"
    assert entry["until"] == T0 + 600 and entry["held"] == ["incident.opened"]
    run(store, eng, T0 + 300, {("api", "production"): False})
    assert sent(store) == keys
    # expired while still failing: the opening goes out once, then reminders/updates resume
    run(store, eng, T0 + 601, {("api", "production"): False})
    run(store, eng, T0 + 602, {("api", "production"): False})
    assert sent(store) == [*keys, f"incident:{prod['id']}:opened"]
    assert incident(store, "api", "production")["refs"]["silence"]["released_at"] == T0 + 601


def test_what_resolves_while_silenced_never_pages_but_a_paged_incident_is_cleared(
    store: Store,
) -> None:
    config = parse_config(CONFIG, env={}).config
    eng = IncidentEngine(config)
    silences.create(
        store, config, check=None, environment=None, seconds=100, reason="all", by="a", now=T0
    )
    run(store, eng, T0 + 1, {("db", "production"): False})
    run(store, eng, T0 + 2, {("db", "production"): True})
    run(store, eng, T0 + 200, {("db", "production"): True})
    assert sent(store) == []
    db = incident(store, "db", "production")
    assert db["status"] == "resolved"
    assert db["refs"]["silence"]["held"] == ["incident.opened", "incident.resolved"]

    # paged first, silenced after: the silence is recorded on the open incident at once, and
    # the recovery is still sent (it clears the page)
    run(store, eng, T0 + 300, {("api", "staging"): False})
    api = incident(store, "api", "staging")
    assert sent(store) == [f"incident:{api['id']}:opened"]
    made = silences.create(
        store, config, check="api", environment=None, seconds=60, reason="fixing", by="b",
        now=T0 + 301,
    )  # fmt: skip
    assert incident(store, "api", "staging")["refs"]["silence"]["id"] == made["id"]
    run(store, eng, T0 + 302, {("api", "staging"): True})
    assert sent(store)[-1] == f"incident:{api['id']}:resolved"


def test_ending_a_silence_early_resumes_and_listing_shows_it(store: Store) -> None:
    config = parse_config(CONFIG, env={}).config
    eng = IncidentEngine(config)
    made = silences.create(
        store, config, check="db", environment=None, seconds=3600, reason="r", by="a", now=T0
    )
    run(store, eng, T0 + 1, {("db", "production"): False})
    assert sent(store) == []
    ended = silences.end(store, made["id"], "bob", now=T0 + 5)
    assert ended is not None and not ended["active"] and ended["until"] == T0 + 5
    assert ended["ended_by"] == "bob"
    run(store, eng, T0 + 6, {("db", "production"): False})
    assert sent(store) == [f"incident:{incident(store, 'db', 'production')['id']}:opened"]
    assert silences.listing(store, now=T0 + 6) == []
    assert [s["id"] for s in silences.listing(store, include_past=True, now=T0 + 6)] == [made["id"]]
    with pytest.raises(NotFound, match="no silence 999"):
        silences.end(store, 999, "x")


@pytest.mark.parametrize(
    ("check", "env", "seconds", "reason", "message"),
    [
        ("api", None, 60, "  ", "needs a reason"),
        ("nope", None, 60, "r", "no check named 'nope'"),
        ("api", "mars", 60, "r", "no environment named 'mars'"),
        ("api", None, 0, "r", "more than 0 seconds"),
        ("api", None, 91 * 86400, "r", "at most 90 days"),
        ("api", None, 60, "x" * 501, "longer than 500"),
    ],
)
def test_bad_silences_are_refused(
    store: Store, check: str, env: str | None, seconds: float, reason: str, message: str
) -> None:
    config = parse_config(CONFIG, env={}).config
    with pytest.raises(Invalid, match=message):
        silences.create(
            store, config, check=check, environment=env, seconds=seconds, reason=reason, by="a"
        )


def test_a_reason_and_a_name_keep_their_escapes_as_marks(store: Store) -> None:
    """`incident silences` prints them: a reason sent through the API cannot drive the terminal."""
    config = parse_config(CONFIG, env={}).config
    made = silences.create(
        store, config, check="api", environment=None, seconds=60,
        reason="migration \x1b[2J\x1b]0;pwned\x07OPS-412\u202e", by="bot\x1b[31m", now=T0,
    )  # fmt: skip
    assert made["reason"] == "migration ␛[2J␛]0;pwned␇OPS-412\ufffd" and made["by"] == "bot␛[31m"
    listed = silences.listing(store, include_past=True)
    assert [(s["reason"], s["by"]) for s in listed] == [(made["reason"], made["by"])]
