"""Incident logic on both store backends: thresholds, error changes, flapping, maintenance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.monitor.incidents import CheckOutcome, IncidentEngine
from prodshield.monitor.maintenance import in_maintenance
from prodshield.monitor.result import CheckError, CheckResult, ErrorKind
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """
environments: {production: {}}
defaults: {failure_threshold: 3, success_threshold: 2, flap_threshold: 4, flap_window: 10m}
notifiers:
  gh: {type: github, repo: acme/hive, token: x}
  ops: {type: slack, webhook_url: "http://127.0.0.1:9/hook"}
checks:
  - {name: api, type: http, url: "http://x/", environments: [production], alerts: [gh]}
  - {name: web, type: http, url: "http://y/", environments: [production]}
maintenance:
  - {name: patch, start: "2026-01-01T10:00:00Z", end: "2026-01-01T11:00:00Z", checks: [api]}
"""
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()


def engine() -> IncidentEngine:
    return IncidentEngine(parse_config(CONFIG, env={}).config, dashboard_url="http://dash.local")


def feed(
    store: Store,
    eng: IncidentEngine,
    seq: Sequence[tuple[bool, str | None]],
    check: str = "api",
    start: float = T0,
    step: float = 60.0,
) -> list[str]:
    """Run each observation in its own transaction, like consecutive `monitor once` runs."""
    out = []
    for i, (ok, kind) in enumerate(seq):
        ts = start + i * step
        with store.begin() as conn:
            res = conn.execute(
                t.check_results.insert().values(
                    check_name=check,
                    environment="production",
                    ts=ts,
                    ok=ok,
                    error_kind=kind,
                    error_message=None if ok else f"{kind} happened",
                    response_time_ms=12.0,
                )
            )
            assert res.inserted_primary_key is not None
            obs = CheckOutcome(
                check,
                "production",
                ts,
                ok,
                kind,
                None if ok else f"{kind} happened",
                [] if ok else ["[STATUS] (503) == 200"],
                12.0,
                res.inserted_primary_key[0],
                "http://x/",
                in_maintenance(eng.config.maintenance, check, "production", ts),
            )
            out += [f"{i}:{c.type}" for c in eng.process(conn, [obs], now=ts)]
    return out


def outbox(store: Store) -> list[tuple[str, str, str]]:
    with store.connect() as conn:
        rows = conn.execute(
            select(t.outbox.c.notifier, t.outbox.c.event_type, t.outbox.c.idempotency_key).order_by(
                t.outbox.c.id
            )
        ).all()
    return [(r.notifier, r.event_type, r.idempotency_key) for r in rows]


def test_scripted_outage_thresholds_3_2(store: Store) -> None:
    eng = engine()
    seq = [
        (True, None),
        (False, "refused"),
        (False, "refused"),
        (False, "refused"),
        (False, "timeout"),
        (False, "timeout"),
        (True, None),
        (True, None),
        (True, None),
    ]
    changes = feed(store, eng, seq)
    assert changes == ["3:incident.opened", "4:incident.updated", "7:incident.resolved"]
    events = outbox(store)
    assert [e[1] for e in events] == ["incident.opened", "incident.updated", "incident.resolved"]
    assert {e[0] for e in events} == {"gh"}  # api alerts only gh
    with store.connect() as conn:
        inc = conn.execute(select(t.incidents)).one()
        first = conn.execute(select(t.outbox.c.payload)).first()
        assert first is not None
        payload = first[0]
    assert inc.status == "resolved" and inc.kind == "down"
    assert inc.opened_at == T0 + 60  # the first failure
    assert inc.resolved_at == T0 + 6 * 60  # the first success of the recovery
    assert inc.error_kinds == ["refused", "timeout"]
    assert payload["title"] == "[production] api is down"
    assert "[STATUS] (503) == 200" in payload["body"] and "| time (UTC) |" in payload["body"]
    assert "http://dash.local/dashboard/checks/api" in payload["body"]


def test_reprocessing_same_transaction_outcome_is_idempotent(store: Store) -> None:
    eng = engine()
    feed(store, eng, [(False, "refused")] * 3)
    # the same event key again (e.g. a crash before the outbox was read) is ignored
    from prodshield.notify.outbox import enqueue_in

    with store.begin() as conn:
        key = conn.execute(select(t.outbox.c.idempotency_key)).scalar_one()
        assert (
            enqueue_in(conn, ["gh"], {"key": key, "type": "incident.opened", "subject": "s"}) == 0
        )
    assert len(outbox(store)) == 1


def test_default_alerts_go_to_every_notifier(store: Store) -> None:
    feed(store, engine(), [(False, "dns")] * 3, check="web")
    assert sorted(e[0] for e in outbox(store)) == ["gh", "ops"]


def test_flapping_is_one_incident(store: Store) -> None:
    seq = [(i % 2 == 0, None if i % 2 == 0 else "reset") for i in range(20)]
    changes = feed(store, engine(), seq)
    opened = [c for c in changes if c.endswith("opened")]
    assert len(opened) == 1
    with store.connect() as conn:
        incs = conn.execute(select(t.incidents)).all()
    assert len(incs) == 1 and incs[0].kind == "flapping" and incs[0].status == "open"
    # stable again: resolved by the first success that finds it stable for flap_stable (10m)
    more = feed(store, engine(), [(True, None)] * 12, start=T0 + 30 * 60)
    assert more == ["10:incident.resolved"]
    with store.connect() as conn:
        inc = conn.execute(select(t.incidents)).one()
    assert inc.resolved_at == T0 + 40 * 60 and inc.resolved_at >= inc.opened_at
    assert inc.opened_at == T0 + 5 * 60  # a failing result (the 5th flap), never a success


def test_a_periodic_outage_is_one_down_incident_per_window(store: Store) -> None:
    """The demo's pattern: fail 4 of every 10 results. Steady streaks are no flaps, so there is
    one "down" incident per outage window and never a flapping one."""
    seq = ([(True, None)] * 6 + [(False, "condition")] * 4) * 8 + [(True, None)] * 2
    changes = feed(store, engine(), seq)
    assert [c.split(":")[1] for c in changes] == ["incident.opened", "incident.resolved"] * 8
    with store.connect() as conn:
        incs = conn.execute(select(t.incidents).order_by(t.incidents.c.id)).all()
    assert {i.kind for i in incs} == {"down"} and len(incs) == 8
    for n, inc in enumerate(incs):
        assert inc.opened_at == T0 + (10 * n + 6) * 60
        assert inc.resolved_at == T0 + (10 * n + 10) * 60 >= inc.opened_at


def test_maintenance_window_suppresses_then_not(store: Store) -> None:
    inside = datetime(2026, 1, 1, 10, 10, tzinfo=UTC).timestamp()
    assert feed(store, engine(), [(False, "refused")] * 5, start=inside) == []
    with store.connect() as conn:
        assert conn.execute(select(t.incidents)).first() is None
    after = datetime(2026, 1, 1, 11, 0, tzinfo=UTC).timestamp()
    assert feed(store, engine(), [(False, "refused")] * 3, start=after) == ["2:incident.opened"]


def test_cron_maintenance_window() -> None:
    cfg = parse_config("maintenance: [{cron: '0 3 * * 0', duration: 1h}]\n", env={}).config
    sunday_0330 = datetime(2026, 11, 29, 3, 30, tzinfo=UTC).timestamp()
    sunday_0430 = datetime(2026, 11, 29, 4, 30, tzinfo=UTC).timestamp()
    assert in_maintenance(cfg.maintenance, "a", "", sunday_0330) == "maintenance[0]"
    assert in_maintenance(cfg.maintenance, "a", "", sunday_0430) is None


def test_reminders(store: Store) -> None:
    cfg = parse_config(
        CONFIG.replace("flap_window: 10m}", "flap_window: 10m, remind_every: 5m}"), env={}
    ).config
    eng = IncidentEngine(cfg)
    changes = feed(store, eng, [(False, "refused")] * 12)
    assert changes.count("2:incident.opened") == 1
    assert [c for c in changes if "reminder" in c] == ["7:incident.reminder"]


def test_report_uptime_incidents_mttr(store: Store) -> None:
    from prodshield.monitor.report import build_report, render_html, render_markdown

    eng = engine()
    seq = [(True, None)] + [(False, "refused")] * 4 + [(True, None)] * 5
    feed(store, eng, seq)
    rep = build_report(store, since_s=86400, now=T0 + 3600)
    (api,) = rep.checks
    assert (api.results, api.failures) == (10, 4)
    assert api.uptime_pct == 60.0
    assert api.p95_ms == 12.0
    assert len(rep.incidents) == 1
    inc = rep.incidents[0]
    assert inc.duration_s == 4 * 60  # first failure to first success
    assert rep.mttr_s == 240 and rep.mttd_s == 120  # detected at the third failure
    md = render_markdown(rep)
    assert "| api | production | 60.000% | 10 | 4 |" in md
    page = render_html(rep)
    assert "<svg" in page and "http" not in page.split("<body>")[1].split("</body>")[0].replace(
        "http-equiv", ""
    )


KINDS_CONFIG = """
environments: {production: {vars: {base: "https://shop.example.com"}}}
defaults: {failure_threshold: 2, success_threshold: 1}
notifiers:
  gh: {type: github, repo: acme/hive, token: x}
checks:
  - name: cert
    type: tls
    host: shop.example.com
    conditions: ["[CERTIFICATE_EXPIRATION] > 14d"]
  - name: shop
    type: http
    url: "{base}/health"
    environments: [production]
    conditions: ["[STATUS] == 200", "[RESPONSE_TIME] < 500"]
  - name: backup
    type: heartbeat
    period: 1h
"""


def _result(
    check: str, env: str, ts: float, failed: list[tuple[str, str | None]], kind: ErrorKind
) -> CheckResult:
    from prodshield.conditions import ConditionOutcome

    outcomes = [ConditionOutcome(expr, False, actual) for expr, actual in failed]
    return CheckResult(
        check,
        env,
        ts,
        False,
        CheckError(kind, "failed"),
        12.0,
        conditions=outcomes,
    )


def test_each_kind_has_its_title_severity_and_words(store: Store) -> None:
    """An expiring certificate is a warning with the days left, a slow answer is degraded, a late
    heartbeat is missed; bodies show the resolved target and the environment."""
    eng = IncidentEngine(parse_config(KINDS_CONFIG, env={}).config)
    runs: list[tuple[str, str, list[tuple[str, str | None]], ErrorKind]] = [
        ("cert", "", [("[CERTIFICATE_EXPIRATION] > 14d", "5d 3h")], "condition"),
        ("shop", "production", [("[RESPONSE_TIME] < 500", "812")], "condition"),
        ("backup", "", [], "timeout"),
    ]
    for n in range(2):
        results = [_result(c, e, T0 + 60 * n, f, k) for c, e, f, k in runs]
        with store.begin() as conn:
            eng.process(conn, eng.observations(results), now=T0)
    with store.connect() as conn:
        incidents = {r.check_name: r for r in conn.execute(select(t.incidents)).all()}
        payloads = {
            p["subject"].split(":")[1]: p
            for p in conn.execute(select(t.outbox.c.payload)).scalars().all()
        }
    assert {c: (i.kind, i.severity) for c, i in incidents.items()} == {
        "cert": ("certificate", "medium"),
        "shop": ("degraded", "medium"),
        "backup": ("heartbeat", "high"),
    }
    cert = payloads["cert"]
    assert cert["title"] == "cert: the TLS certificate expires in 5 days"
    assert cert["severity"] == "medium" and "down" not in cert["title"]
    assert "Environment: none" in cert["body"] and "`-`" not in cert["body"]
    assert "Target: `shop.example.com:443`" in cert["body"]
    shop = payloads["shop"]
    assert shop["title"] == "[production] shop is degraded"
    assert "Target: `https://shop.example.com/health`" in shop["body"]
    assert "{base}" not in shop["body"] and "Environment: `production`" in shop["body"]
    assert payloads["backup"]["title"] == "backup missed its heartbeat"
    assert incidents["cert"].title == cert["title"]

    # A refused connection is down, whatever conditions it could not evaluate.
    from prodshield.monitor.incident_machine import kind_of

    refused = _result("cert", "", 0, [("[CERTIFICATE_EXPIRATION] > 14d", None)], "refused")
    assert kind_of("tls", refused.conditions, "refused") == "down"
    assert eng.observations([refused])[0].kind == "down"

    # The degraded check then fails outright: the same incident becomes "down" (one update).
    down = _result("shop", "production", T0 + 180, [("[STATUS] == 200", "503")], "condition")
    with store.begin() as conn:
        changes = eng.process(conn, eng.observations([down]), now=T0)
    assert [(c.type, c.kind) for c in changes] == [("incident.updated", "down")]
    with store.connect() as conn:
        row = conn.execute(select(t.incidents).where(t.incidents.c.check_name == "shop")).one()
    assert (row.kind, row.severity, row.title) == ("down", "critical", "[production] shop is down")
