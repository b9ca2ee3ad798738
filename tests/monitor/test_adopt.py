"""Adopting a lost store's GitHub issues (``monitor.adopt.adopt``), on both store backends: the
journeys (tests/journeys/test_journey_lost_store_adopts_issue.py, ..._monitor_run_issue_sweep.py)
prove it end to end; these pin the guards: a thread the store follows is not adopted again, one
issue per thread, the escalation levels already due page no one, the machine's state is open."""

from __future__ import annotations

from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.monitor.adopt import Found, Orphan, adopt
from prodshield.monitor.incident_issues import error_kind_of
from prodshield.monitor.incident_machine import MachineState
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """
notifiers:
  gh: {type: github, repo: acme/platform, token: "ghp_x", marker_key: "k"}
  pager: {type: webhook, url: "https://pager.example/hook", enabled: true}
escalations:
  oncall:
    - {after: 10m, notify: [pager]}
    - {after: 2h, notify: [pager]}
defaults: {escalation: oncall}
checks:
  - {name: api, type: http, url: 'https://x.example/'}
  - {name: web, type: http, url: 'https://y.example/'}
"""
NOW = 1_800_000_000.0


def _orphan(number: int, check: str = "api", opened_at: float = NOW - 3600) -> Orphan:
    return Orphan("gh", number, check, "", "down", opened_at, "timeout")


def test_adopts_once_per_thread_with_an_open_state_and_no_page(store: Store) -> None:
    config = parse_config(CONFIG, env={}).config
    found = Found([_orphan(3), _orphan(5), _orphan(4, "web")], asked=["gh"])
    with store.begin() as conn:
        done = adopt(conn, config, found, NOW)
    # api's lowest-numbered issue is its thread's (the notifier writes there); web's own
    assert [(a.number, a.check) for a in done] == [(3, "api"), (4, "web")]
    with store.connect() as conn:
        rows = conn.execute(select(t.incidents).order_by(t.incidents.c.id)).all()
        state = (
            conn.execute(select(t.check_state).where(t.check_state.c.check_name == "api"))
            .mappings()
            .one()
        )
        outbox = conn.execute(select(t.outbox)).all()
    api = rows[0]
    assert (api.status, api.kind, api.opened_at, api.last_error_kind) == (
        "open", "down", NOW - 3600, "timeout",
    )  # fmt: skip
    assert api.refs["adopted"] == {"notifier": "gh", "issue": 3}
    # an hour unacknowledged: level 1 (10m) counts as reached (its notifiers hear the
    # resolution), level 2 (2h) is still to come; nobody is paged now
    assert [e["level"] for e in api.refs["escalated"]] == [1]
    assert api.refs["escalated"][0]["notify"] == ["pager"]
    assert outbox == []
    machine = MachineState.from_row(state)
    assert (machine.phase, machine.open_incident_id, machine.open_error_kind) == (
        "down", api.id, "timeout",
    )  # fmt: skip
    assert store.kv_get("notify", "adopted:gh") == NOW

    # a second look (another instance, a retried start) finds the threads followed
    with store.begin() as conn:
        assert adopt(conn, config, found, NOW + 1) == []


def test_a_thread_the_store_resolved_since_the_issue_opened_is_not_adopted(store: Store) -> None:
    """Its resolution closed the issue, or is still to be told (dead: `notify retry`)."""
    config = parse_config(CONFIG, env={}).config
    with store.begin() as conn:
        conn.execute(
            t.incidents.insert().values(
                check_name="api", environment="", kind="down", severity="critical",
                title="api is down", status="resolved", opened_at=NOW - 7200,
                resolved_at=NOW - 60, failing_conditions=[], error_kinds=[], notes=[], refs={},
            )
        )  # fmt: skip
        assert adopt(conn, config, Found([_orphan(1)], asked=["gh"]), NOW) == []
        # an incident resolved before this issue was opened is an earlier one: adopted
        later = _orphan(2, opened_at=NOW - 30)
        assert [a.number for a in adopt(conn, config, Found([later], asked=["gh"]), NOW)] == [2]


def test_the_error_kind_of_the_fields_table() -> None:
    assert error_kind_of("| error | `timeout: read timed out` |") == "timeout"
    assert error_kind_of("| error | `bogus: x` |") is None  # not a kind prodshield writes
    assert error_kind_of("| error | `tls: a` |\n| error | `dns: b` |") is None  # ambiguous
    assert error_kind_of("no table") is None
