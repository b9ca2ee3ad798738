"""SLOs from real results in the store: the error budget left, the burn rates over each alert's
windows, and the slo incident a firing alert opens (and resolves) through the outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.errors import ConfigError
from prodshield.monitor import slo
from prodshield.monitor.incidents import CheckOutcome, IncidentEngine
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """
defaults: {failure_threshold: 1000}
notifiers:
  ops: {type: webhook, url: "http://127.0.0.1:9/hook"}
checks:
  - name: api
    type: http
    url: http://api/
    slo:
      objective: 99
      window: 1d
      alerts:
        - {long: 1h, short: 5m, burn_rate: 14.4}
        - {long: 6h, short: 30m, burn_rate: 6}
"""
T0 = 1_800_000_000.0


def record(store: Store, start: float, count: int, every: float, ok: bool) -> float:
    """``count`` results of api, one every ``every`` seconds from ``start``; the last ts."""
    rows = [
        {"check_name": "api", "environment": "", "ts": start + k * every, "ok": ok}
        for k in range(count)
    ]
    with store.begin() as conn:
        conn.execute(t.check_results.insert(), rows)
    return start + (count - 1) * every


def judge(store: Store, eng: IncidentEngine, ts: float, ok: bool) -> None:
    with store.begin() as conn:
        eng.process(conn, [CheckOutcome("api", "", ts, ok, None if ok else "refused", "x")], now=ts)


def test_budget_and_burn_rates_come_from_the_stored_results(store: Store) -> None:
    config = parse_config(CONFIG, env={}).config
    spec = config.checks[0].slo
    assert spec is not None
    # 23 hours of passing results every minute, then 10 failures in the last 10 minutes
    last = record(store, T0, 23 * 60, 60, True)
    last = record(store, last + 60, 10, 60, False)
    with store.connect() as conn:
        st = slo.status(conn, "api", "", spec, last)
    assert st.total == 23 * 60 + 10 and st.failed == 10
    # 10 failures of 1390 against a 1 % budget: 72 % of it spent
    assert st.budget_remaining == pytest.approx(1 - (10 / 1390) / 0.01)
    fast, slow = st.burns
    assert fast.long_rate == pytest.approx((10 / 60) / 0.01)  # the last hour: 10 of 60 failed
    assert fast.short_rate == pytest.approx(100.0)  # the last 5 minutes: all failed
    assert slow.long_rate == pytest.approx((10 / 360) / 0.01)  # 6 h: 2.8x, under its 6x
    assert fast.firing and not slow.firing
    assert st.firing is fast


def test_a_firing_alert_opens_an_slo_incident_and_it_resolves(store: Store) -> None:
    config = parse_config(CONFIG, env={}).config
    eng = IncidentEngine(config)
    last = record(store, T0, 120, 60, True)
    judge(store, eng, last, True)
    with store.connect() as conn:
        assert conn.execute(select(t.incidents)).all() == []
    last = record(store, last + 60, 10, 60, False)
    judge(store, eng, last, False)
    with store.connect() as conn:
        [incident] = conn.execute(select(t.incidents)).all()
        [row] = conn.execute(select(t.outbox)).all()
    assert incident.kind == "slo" and incident.status == "open"
    assert incident.title == "api is burning its error budget (14.4x)"
    assert incident.severity == "critical"
    assert incident.refs["slo"]["failed"] == 10
    assert row.subject == "slo:api:" and row.payload["fields"]["objective"] == "99%"
    assert "14.4x over 1h and 5m" in row.payload["body"]
    # a recovery long enough for the short windows to pass clears it
    last = record(store, last + 60, 40, 60, True)
    judge(store, eng, last, True)
    with store.connect() as conn:
        incident = conn.execute(select(t.incidents)).one()
        keys = [r.idempotency_key for r in conn.execute(select(t.outbox).order_by(t.outbox.c.id))]
    assert incident.status == "resolved"
    assert keys == [f"incident:{incident.id}:opened", f"incident:{incident.id}:resolved"]


def test_an_alert_needs_enough_data_before_it_fires(store: Store) -> None:
    """A new check failing at once burns "100 %" of three results: not enough to page an slo
    incident beside its down incident. Ten results over a quarter of the long window are."""
    config = parse_config(CONFIG, env={}).config
    spec = config.checks[0].slo
    assert spec is not None
    eng = IncidentEngine(config)
    last = record(store, T0, 3, 10, False)  # three failures in 20 seconds
    with store.connect() as conn:
        st = slo.status(conn, "api", "", spec, last)
    fast = st.burns[0]
    assert fast.long_rate == pytest.approx(100.0) and fast.short_rate == pytest.approx(100.0)
    assert not fast.enough_data and not fast.firing and st.firing is None
    assert st.as_dict()["burn_rates"][0]["enough_data"] is False
    judge(store, eng, last, False)
    with store.connect() as conn:
        kinds = [r.kind for r in conn.execute(select(t.incidents))]
    assert "slo" not in kinds

    # ten results, but all within the first minutes of the hour: still too little of the window
    last = record(store, last + 10, 9, 10, False)
    with store.connect() as conn:
        st = slo.status(conn, "api", "", spec, last)
    assert st.burns[0].long_rate is not None and not st.burns[0].enough_data
    # still failing a quarter of an hour after the first result: the alert fires
    last = record(store, T0 + 15 * 60, 3, 10, False)
    judge(store, IncidentEngine(config), last, False)
    with store.connect() as conn:
        st = slo.status(conn, "api", "", spec, last)
        kinds = [r.kind for r in conn.execute(select(t.incidents))]
    assert st.burns[0].enough_data and st.firing is st.burns[0]
    assert kinds.count("slo") == 1


ESCALATING = CONFIG.replace(
    "notifiers:\n",
    "escalations:\n  platform: [{after: 10m, notify: [oncall]}]\n"
    "notifiers:\n  oncall: {type: webhook, url: 'http://127.0.0.1:9/page'}\n",
).replace(
    "defaults: {failure_threshold: 1000}",
    "defaults: {failure_threshold: 1000, escalation: platform}",
)
ESCALATING = ESCALATING.replace(
    "    url: http://api/\n", "    url: http://api/\n    alerts: [ops]\n"
)


def _outbox(store: Store) -> list[tuple[str, str, str]]:
    o = t.outbox
    with store.connect() as conn:
        rows = conn.execute(select(o).order_by(o.c.id)).all()
    return [(r.notifier, r.idempotency_key.split(":", 2)[2], r.subject) for r in rows]


def test_a_burning_slo_incident_escalates_like_any_other(store: Store) -> None:
    """defaults.escalation applies to an slo incident: unacknowledged 10 minutes after it opened
    and still burning, it pages the next level on its own thread; the level hears the
    acknowledgement and the resolution, and an acknowledged one escalates no further."""
    from prodshield.monitor.incidents import acknowledge

    config = parse_config(ESCALATING, env={}).config
    eng = IncidentEngine(config)
    last = record(store, T0, 120, 60, True)
    last = record(store, last + 60, 10, 60, False)
    judge(store, eng, last, False)
    assert _outbox(store) == [("ops", "opened", "slo:api:")]
    last = record(store, last + 60, 5, 60, False)  # 5 more minutes: not yet
    judge(store, eng, last, False)
    assert len(_outbox(store)) == 1
    last = record(store, last + 60, 5, 60, False)  # 10 minutes after it opened
    judge(store, eng, last, False)
    assert _outbox(store)[1] == ("oncall", "escalated:1", "slo:api:")
    with store.connect() as conn:
        incident = conn.execute(select(t.incidents)).one()
    assert [e["level"] for e in incident.refs["escalated"]] == [1]
    o = t.outbox
    with store.connect() as conn:
        page = conn.execute(select(o).where(o.c.notifier == "oncall")).one()
    assert page.payload["title"].startswith("Escalated (level 1, unacknowledged for 10m): ")
    assert "burns its error budget too fast" in page.payload["body"]

    acknowledge(store, config, incident.id, "alice")
    acks = [x for x in _outbox(store) if x[1] == "acknowledged"]
    assert sorted(acks) == [
        ("oncall", "acknowledged", "slo:api:"),
        ("ops", "acknowledged", "slo:api:"),
    ]
    last = record(store, last + 60, 40, 60, True)
    judge(store, eng, last, True)
    resolved = [x for x in _outbox(store) if x[1] == "resolved"]
    assert sorted(resolved) == [("oncall", "resolved", "slo:api:"), ("ops", "resolved", "slo:api:")]


def test_an_acknowledged_slo_incident_does_not_escalate(store: Store) -> None:
    from prodshield.monitor.incidents import acknowledge

    config = parse_config(ESCALATING, env={}).config
    eng = IncidentEngine(config)
    last = record(store, T0, 120, 60, True)
    last = record(store, last + 60, 10, 60, False)
    judge(store, eng, last, False)
    with store.connect() as conn:
        incident_id = conn.execute(select(t.incidents.c.id)).scalar_one()
    acknowledge(store, config, incident_id, "alice")
    last = record(store, last + 60, 15, 60, False)
    judge(store, eng, last, False)
    assert [x[0] for x in _outbox(store)] == ["ops", "ops"]  # opened, acknowledged


def test_maintenance_results_do_not_spend_the_budget(store: Store) -> None:
    spec = parse_config(CONFIG, env={}).config.checks[0].slo
    assert spec is not None
    with store.begin() as conn:
        conn.execute(
            t.check_results.insert(),
            [
                {"check_name": "api", "environment": "", "ts": T0 + k, "ok": False,
                 "maintenance": True}
                for k in range(5)
            ]
            + [{"check_name": "api", "environment": "", "ts": T0 + 10, "ok": True, "maintenance": False}],
        )  # fmt: skip
        st = slo.status(conn, "api", "", spec, T0 + 10)
    assert (st.total, st.failed, st.budget_remaining) == (1, 0, 1.0)


def test_one_grouped_query_measures_every_target(store: Store) -> None:
    spec = parse_config(CONFIG, env={}).config.checks[0].slo
    assert spec is not None
    rows = [
        {"check_name": check, "environment": env, "ts": T0 + k, "ok": k % every != 0,
         "maintenance": False}
        for check, env, every in (("api", "eu", 2), ("api", "us", 5), ("web", "eu", 10))
        for k in range(100)
    ]  # fmt: skip
    with store.begin() as conn:
        conn.execute(t.check_results.insert(), rows)
        found = slo.statuses(conn, {"api": spec, "web": spec}, T0 + 99)
    assert {k: (s.total, s.failed) for k, s in found.items()} == {
        ("api", "eu"): (100, 50),
        ("api", "us"): (100, 20),
        ("web", "eu"): (100, 10),
    }
    assert found[("web", "eu")].budget_remaining == pytest.approx(1 - 0.1 / 0.01)


def test_the_status_page_says_an_overspent_budget_is_exhausted(
    store: Store, tmp_path: Path
) -> None:
    """Visitors read 'error budget exhausted', not '-19900.0%', once the budget is overspent."""
    import time

    from starlette.testclient import TestClient

    from prodshield.web.app import create_app

    text = CONFIG.replace(
        "      objective: 99\n", "      objective: 99.5\n      status_page: true\n"
    )
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    loaded = parse_config(text, name=str(path), env={}, fs_path=path)
    now = time.time()
    record(store, now - 80, 8, 10, ok=False)  # a new check failing from its first result
    app = create_app(loaded, store, token="t" * 20)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        page = client.get("/").text
    card = page[page.index('data-service="api"') :][:3000]
    assert "error budget <b>exhausted</b>" in card and "-19900" not in card


SERVICE_CONFIG = """
defaults: {failure_threshold: 1000}
notifiers:
  ops: {type: webhook, url: "http://127.0.0.1:9/hook"}
services:
  shop:
    slo:
      objective: 99
      window: 1d
      alerts:
        - {long: 1h, short: 5m, burn_rate: 5}
checks:
  - {name: web, type: http, url: "http://web/", service: shop}
  - {name: cart, type: http, url: "http://cart/", service: shop}
  - {name: other, type: http, url: "http://other/"}
"""


def results(
    check: str, start: float, count: int, ok: bool, maintenance: bool = False
) -> list[dict[str, Any]]:
    return [
        {"check_name": check, "environment": "", "ts": start + 60 * k, "ok": ok,
         "maintenance": maintenance}
        for k in range(count)
    ]  # fmt: skip


def test_a_service_slo_counts_every_check_of_the_service(store: Store) -> None:
    config = parse_config(SERVICE_CONFIG, env={}).config
    spec = config.services["shop"].slo
    assert spec is not None
    with store.begin() as conn:
        conn.execute(
            t.check_results.insert(),
            results("web", T0, 60, True)
            + results("cart", T0, 54, True)
            + results("cart", T0 + 54 * 60, 6, False)
            + results("web", T0, 30, False, maintenance=True)  # never spends the budget
            + results("other", T0, 60, False),  # another service's failures
        )
        found = slo.service_statuses(conn, {"shop": (spec, ["web", "cart"])}, T0 + 59 * 60)
    st = found[("shop", "")]
    assert (st.total, st.failed) == (120, 6)
    assert st.budget_remaining == pytest.approx(1 - (6 / 120) / 0.01)
    [burn] = st.burns
    assert burn.long_rate == pytest.approx(5.0)  # 6 of 120 in the hour: 5 % against 1 %
    assert burn.short_rate == pytest.approx((5 / 10) / 0.01)  # the last 5 minutes of both


def test_a_burning_service_opens_its_own_slo_incident_and_it_resolves(store: Store) -> None:
    config = parse_config(SERVICE_CONFIG, env={}).config
    eng = IncidentEngine(config)

    def judge_at(check: str, ts: float, ok: bool) -> None:
        with store.begin() as conn:
            obs = CheckOutcome(check, "", ts, ok, None if ok else "refused", "x")
            eng.process(conn, [obs], now=ts)

    with store.begin() as conn:
        conn.execute(t.check_results.insert(), results("web", T0, 60, True))
        conn.execute(t.check_results.insert(), results("cart", T0, 60, True))
    judge_at("web", T0 + 59 * 60, True)
    with store.connect() as conn:
        assert conn.execute(select(t.incidents)).all() == []
    # cart fails for 10 minutes while web passes: the service burns 50x over 5m, 8.3x over 1h
    start = T0 + 60 * 60
    with store.begin() as conn:
        conn.execute(t.check_results.insert(), results("cart", start, 10, False))
        conn.execute(t.check_results.insert(), results("web", start, 10, True))
    judge_at("cart", start + 9 * 60, False)
    with store.connect() as conn:
        [incident] = conn.execute(select(t.incidents)).all()
        [row] = conn.execute(select(t.outbox)).all()
    assert (incident.kind, incident.status) == ("slo", "open")
    assert incident.check_name == "service:shop"
    # titled by the service's name, not its internal target
    assert incident.title == "shop (service) is burning its error budget (5x)"
    assert incident.refs["slo"]["failed"] == 10 and incident.refs["slo"]["results"] == 140
    assert row.subject == "slo:service:shop:"
    assert row.payload["title"] == incident.title and "**shop (service)**" in row.payload["body"]
    # both recover; once the short window has passed, the incident resolves
    start += 10 * 60
    with store.begin() as conn:
        conn.execute(t.check_results.insert(), results("cart", start, 10, True))
        conn.execute(t.check_results.insert(), results("web", start, 10, True))
    judge_at("web", start + 9 * 60, True)
    with store.connect() as conn:
        incident = conn.execute(select(t.incidents)).one()
        keys = [r.idempotency_key for r in conn.execute(select(t.outbox).order_by(t.outbox.c.id))]
    assert incident.status == "resolved"
    assert keys == [f"incident:{incident.id}:opened", f"incident:{incident.id}:resolved"]


def test_open_incidents_metric_labels_a_service_slo_as_a_service(
    store: Store, tmp_path: Path
) -> None:
    """`prodshield_open_incidents` names a service's SLO incident by its service (check empty),
    a check's incident by its check and the check's service, a manual one by its service."""
    from prometheus_client.parser import text_string_to_metric_families
    from starlette.testclient import TestClient

    from prodshield.monitor.incidents import open_manual
    from prodshield.web.app import create_app

    path = tmp_path / "shield.yaml"
    path.write_text(SERVICE_CONFIG)
    loaded = parse_config(SERVICE_CONFIG, name=str(path), env={}, fs_path=path)
    config = loaded.config
    eng = IncidentEngine(config)
    with store.begin() as conn:
        conn.execute(t.check_results.insert(), results("web", T0, 60, True))
        conn.execute(t.check_results.insert(), results("cart", T0, 50, True))
        conn.execute(t.check_results.insert(), results("cart", T0 + 50 * 60, 10, False))
        eng.process(conn, [CheckOutcome("cart", "", T0 + 59 * 60, False, "refused", "x")],
                    now=T0 + 59 * 60)  # fmt: skip
    open_manual(store, config, "Payments are slow", service="payments")
    with store.connect() as conn:
        targets = sorted(r.check_name for r in conn.execute(select(t.incidents)))
    assert targets == ["payments", "service:shop"]
    with store.begin() as conn:
        conn.execute(
            t.incidents.insert().values(
                check_name="cart", environment="", kind="down", severity="critical",
                title="cart is down", status="open", opened_at=T0, failing_conditions=[],
                error_kinds=[], notes=[], refs={},
            )
        )  # fmt: skip
    app = create_app(loaded, store, token="t" * 20)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        text = client.get("/metrics").text
    [family] = [
        f for f in text_string_to_metric_families(text) if f.name == "prodshield_open_incidents"
    ]
    samples = sorted(
        (s.labels["check"], s.labels["service"], s.labels["environment"], s.labels["kind"])
        for s in family.samples
    )
    assert samples == [
        ("", "payments", "", "manual"),
        ("", "shop", "", "slo"),
        ("cart", "shop", "", "down"),
    ]
    assert "service:shop" not in text


def test_a_service_slo_incident_reads_as_the_service_and_links_to_a_working_page(
    store: Store, tmp_path: Path
) -> None:
    """The dashboard names a service SLO incident ``shop (service)`` and links it to the
    check whose results opened it (its page shows the service's SLO), not to
    ``/dashboard/checks/service%3Ashop`` (no such check); its notifications link there too."""
    import re

    from starlette.testclient import TestClient

    from prodshield.monitor.incidents import acknowledge
    from prodshield.web.app import create_app
    from support.web_seed import TOKEN, login

    text = SERVICE_CONFIG + 'serve: {public_url: "https://status.example.com"}\n'
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    loaded = parse_config(text, name=str(path), env={}, fs_path=path)
    eng = IncidentEngine(loaded.config)
    with store.begin() as conn:
        conn.execute(t.check_results.insert(), results("web", T0, 60, True))
        conn.execute(t.check_results.insert(), results("cart", T0, 50, True))
        conn.execute(t.check_results.insert(), results("cart", T0 + 50 * 60, 10, False))
        eng.process(conn, [CheckOutcome("cart", "", T0 + 59 * 60, False, "refused", "x")],
                    now=T0 + 59 * 60)  # fmt: skip
    with store.connect() as conn:
        incident = conn.execute(select(t.incidents)).one()
    acknowledge(store, loaded.config, incident.id, "alice")
    with store.connect() as conn:
        payloads = [r.payload for r in conn.execute(select(t.outbox).order_by(t.outbox.c.id))]
    assert [p["title"] for p in payloads] == [
        "shop (service) is burning its error budget (5x)",
        "shop (service): acknowledged by alice",
    ]
    assert payloads[1]["url"] == "https://status.example.com/dashboard/checks/cart?environment="

    app = create_app(loaded, store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        login(client)
        page = client.get(f"/dashboard/incidents/{incident.id}").text
        h1 = re.search(r"<h1>Incident #\d+ <small>([^<]*)</small></h1>", page)
        assert h1 and h1.group(1) == "shop (service) is burning its error budget (5x)"
        target = re.search(r'<p class="incident-target"><a href="([^"]+)">([^<]+)</a>', page)
        assert target and target.group(2) == "shop (service)"
        listing = client.get("/dashboard/incidents").text
        row = listing.split(f'data-incident="{incident.id}"')[1].split("</tr>")[0]
        assert f'<a href="{target.group(1)}">shop (service)</a>' in row
        assert "service%3Ashop" not in page + listing
        linked = client.get(target.group(1).replace("&amp;", "&"))
        assert linked.status_code == 200 and "<h1>cart" in linked.text


def test_an_unknown_service_is_a_config_error_with_its_line() -> None:
    bad = SERVICE_CONFIG.replace("  shop:\n", "  shops:\n")
    with pytest.raises(ConfigError) as err:
        parse_config(bad, env={})
    assert str(err.value) == (
        "shield.yaml:6:3: services.shops: unknown service 'shops' (did you mean 'shop'?)"
    )


def test_a_service_slo_on_the_status_page_is_refused_not_ignored() -> None:
    bad = SERVICE_CONFIG.replace(
        "      objective: 99\n", "      objective: 99\n      status_page: true\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config(bad, env={})
    assert str(err.value).startswith("shield.yaml:6:3: services.shop: slo.status_page is not")
