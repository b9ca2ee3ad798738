"""Evidence on an incident: the same service's log findings, new templates since its deploy, the
deploy, new audit findings and chaos runs, recorded at opening (the issue body's "Evidence") and
refreshed while it is open (one comment event per new kind); deduplicated, bounded, redacted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from prodshield import deploys, evidence
from prodshield.config import parse_config
from prodshield.monitor.incidents import CheckOutcome, IncidentChange, IncidentEngine
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """
environments: {production: {}, staging: {}}
defaults: {failure_threshold: 2, success_threshold: 1}
notifiers:
  gh: {type: github, repo: acme/hive, token: x}
logs:
  sources:
    - {name: shop-access, path: /var/log/shop/access.log, service: shop, environment: production}
    - {name: billing-app, path: /var/log/billing/app.log, service: billing}
checks:
  - {name: shop-home, type: http, url: "http://127.0.0.1:28080/", environments: [production, staging], alerts: [gh], service: shop}
chaos:
  proxies:
    - {name: shop-web, listen: "127.0.0.1:28080", upstream: "127.0.0.1:8080"}
"""
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()
SECRET = "ghp_" + "Z8k2Lq9Xv4Rt7Yp1Wm3Nb6Hc5Jd0Fs2Ga8E"


def _finding(
    conn: Connection,
    kind: str,
    category: str,
    source: dict[str, str],
    at: float,
    message: str,
    count: int = 5,
) -> None:
    conn.execute(
        t.log_findings.insert().values(
            fingerprint=f"{kind}:{source}",
            category=category,
            kind=kind,
            severity="high",
            count=count,
            first_seen=at,
            last_seen=at,
            source=source,
            samples=[],
            details={},
            created_at=at,
            message=message,
            updated_at=at,
        )
    )


def _observe(
    store: Store, eng: IncidentEngine, ts: float, ok: bool, env: str = "production"
) -> list[IncidentChange]:
    with store.begin() as conn:
        obs = CheckOutcome(
            "shop-home", env, ts, ok, None if ok else "status", None if ok else "503",
            [] if ok else ["[STATUS] == 200"], 10.0, None, "http://x/", None,
        )  # fmt: skip
        return eng.process(conn, [obs], now=ts)


def _outbox(store: Store) -> list[tuple[str, str, dict[str, Any]]]:
    with store.connect() as conn:
        rows = conn.execute(
            select(t.outbox.c.event_type, t.outbox.c.idempotency_key, t.outbox.c.payload).order_by(
                t.outbox.c.id
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_incident_opens_with_the_services_evidence_and_comments_on_new_kinds(store: Store) -> None:
    config = parse_config(CONFIG, env={}).config
    eng = IncidentEngine(config)
    deploys.mark(store, "v7.1", environment="production", service="shop", at=T0 - 600)
    deploys.mark(store, "billing-3", service="billing", at=T0 - 300)
    with store.begin() as conn:
        _finding(
            conn, "http_5xx_burst", "performance", {"endpoint": "POST /api/checkout"}, T0 - 30,
            "5xx burst on POST /api/checkout: 40 within 60 s",
        )  # fmt: skip
        # another service's OOM (its file belongs to billing) and a security finding: not evidence
        _finding(
            conn, "out_of_memory", "critical", {"file": "/var/log/billing/app.log"}, T0 - 20,
            "Out of memory: Killed process 42 (billing)",
        )  # fmt: skip
        _finding(conn, "brute_force", "security", {"ip": "10.0.0.9"}, T0 - 20, "brute force")
        conn.execute(
            t.log_templates.insert().values(
                id="t-new",
                template=f"PaymentError: gateway refused token {SECRET}",
                count=12,
                first_seen=T0 - 120,
                last_seen=T0 - 5,
                source="shop-access",
            )
        )
        conn.execute(
            t.log_templates.insert().values(
                id="t-old", template="GET <*> 200", count=900, first_seen=T0 - 9000,
                last_seen=T0, source="shop-access",
            )
        )  # fmt: skip

    assert _observe(store, eng, T0, False) == []
    opened = _observe(store, eng, T0 + 30, False)
    assert [c.type for c in opened] == ["incident.opened"]
    incident_id = opened[0].incident_id

    with store.connect() as conn:
        items = evidence.of_incident(conn, incident_id)
    kinds = [i.kind for i in items]
    assert sorted(kinds) == ["deploy", "http_5xx_burst", "new_template"], items
    text = " ".join(i.summary for i in items)
    assert "POST /api/checkout" in text and "v7.1" in text and "PaymentError" in text
    [deployed] = [i.summary for i in items if i.kind == "deploy"]
    assert deployed.startswith("shop v7.1 deployed to production at "), deployed
    assert SECRET not in text  # redacted
    assert "billing" not in text and "brute" not in text

    events = _outbox(store)
    assert [e[0] for e in events] == ["incident.opened"]
    body = events[0][2]["body"]
    assert "### Evidence" in body
    assert "POST /api/checkout" in body and "v7.1" in body and "PaymentError" in body
    assert SECRET not in body

    # while it is open, a new kind (an OOM in the shop's own log... here: a chaos run stored late,
    # started before the incident was detected with a toxic on the shop's path, and an audit
    # finding new since the previous run) comes as one evidence event; the same again comes never
    toxic = {"proxy": "shop-web", "type": "latency", "attributes": {"latency": 300}}
    with store.begin() as conn:
        conn.execute(
            t.experiment_journals.insert().values(
                title="latency on the shop's database", status="running", deviated=False,
                started_at=T0 + 20, ended_at=None, journal={"prodshield": {"toxics": [toxic]}},
            )
        )  # fmt: skip
        for run_id, fingerprints in ((1, ["a"]), (2, ["a", "b"])):
            conn.execute(
                t.audit_runs.insert().values(
                    id=run_id, started_at=T0 + run_id, finished_at=T0 + run_id + 1, passed=False
                )
            )
            for fp in fingerprints:
                conn.execute(
                    t.audit_findings.insert().values(
                        run_id=run_id, family="config", rule=f"rule-{fp}", severity="high",
                        title=f"finding {fp}", path="app/settings.py", line=3, fingerprint=fp,
                    )
                )  # fmt: skip
    _observe(store, eng, T0 + 60, False)
    _observe(store, eng, T0 + 90, False)
    events = _outbox(store)
    assert [e[0] for e in events] == ["incident.opened", "incident.evidence"]
    comment = events[1][2]["body"]
    assert "latency on the shop" in comment and "rule-b" in comment and "rule-a" not in comment
    assert "v7.1" not in comment  # already on the issue
    with store.connect() as conn:
        again = evidence.of_incident(conn, incident_id)
    assert sorted(i.kind for i in again) == [
        "audit",
        "chaos",
        "deploy",
        "http_5xx_burst",
        "new_template",
    ]

    # staging has no log source and no deploy of its own: its incident has only what applies
    _observe(store, eng, T0, False, env="staging")
    staged = _observe(store, eng, T0 + 30, False, env="staging")
    with store.connect() as conn:
        theirs = evidence.of_incident(conn, staged[0].incident_id)
    assert "deploy" not in {i.kind for i in theirs}
    assert "http_5xx_burst" not in {i.kind for i in theirs}


def test_evidence_is_bounded_per_incident(store: Store) -> None:
    items = [evidence.Item("error_logged", f"k{i}", T0 + i, f"error {i}") for i in range(80)]
    with store.begin() as conn:
        first = evidence.record(conn, 7, [i.sealed() for i in items], T0)
        again = evidence.record(conn, 7, [i.sealed() for i in items], T0)
        kept = evidence.of_incident(conn, 7)
    assert len(first) == evidence.MAX_ITEMS and again == [] and len(kept) == evidence.MAX_ITEMS
    long = evidence.Item("x", "k", T0, "y" * 5000).sealed()
    assert len(long.summary) <= evidence.MAX_SUMMARY + 40


def test_dashboard_incident_page_shows_the_timeline(store: Store, tmp_path: Path) -> None:
    import re

    from starlette.testclient import TestClient

    from prodshield.web.app import create_app

    token = "evidence-token-0123456789"
    path = tmp_path / "shield.yaml"
    path.write_text(CONFIG)
    loaded = parse_config(CONFIG, name=str(path), env={}, fs_path=path)
    eng = IncidentEngine(loaded.config)
    deploys.mark(store, "v9.9", environment="production", service="shop", at=T0 - 60)
    with store.begin() as conn:
        _finding(
            conn, "http_5xx_burst", "performance", {"endpoint": "GET /api/cart"}, T0 - 10,
            "5xx burst on GET /api/cart: 30 within 60 s",
        )  # fmt: skip
        for k in range(3):
            conn.execute(
                t.check_results.insert().values(
                    check_name="shop-home", environment="production", ts=T0 + 30 * k, ok=False,
                    error_kind="status", error_message="503", response_time_ms=5.0,
                )
            )  # fmt: skip
    _observe(store, eng, T0, False)
    incident_id = _observe(store, eng, T0 + 30, False)[0].incident_id
    app = create_app(loaded, store, token=token)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        api = c.get(
            f"/api/v1/incidents/{incident_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert {e["kind"] for e in api.json()["evidence"]} == {"deploy", "http_5xx_burst"}
        assert c.get(f"/dashboard/incidents/{incident_id}", follow_redirects=False).status_code in (
            302,
            303,
            401,
        )
        page = c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        c.post("/login", data={"token": token, "csrf": csrf.group(1), "next": "/dashboard"})
        html = c.get(f"/dashboard/incidents/{incident_id}").text
        kinds = re.findall(r'data-type="(\w+)"', html)
        # three identical failures in a row (the incident dates from the first): one row
        assert kinds.count("result") == 1 and "opened" in kinds
        assert "\u00d7 3, until" in html
        assert "failed: status 503" in html
        heading = html.split("<h1>")[1].split("</h1>")[0]
        assert "[production]" not in heading, heading  # the environment is the badge beside it
        assert 'data-kind="http_5xx_burst"' in html and 'data-kind="deploy"' in html
        assert "GET /api/cart" in html and "v9.9" in html
        # in time order: the deploy, the burst, then the failing results and the opening
        assert html.index("v9.9") < html.index("GET /api/cart") < html.index("incident opened")
        assert c.get("/dashboard/incidents/999999").status_code == 404
        listing = c.get("/dashboard/incidents").text
        assert f'href="/dashboard/incidents/{incident_id}"' in listing


def test_a_scheduled_run_that_failed_to_start_says_so(store: Store, tmp_path: Path) -> None:
    """A scheduled experiment whose file is broken never injected anything: it is not evidence
    (neither "failed to start" nor "ran (failed)"); nor is a run that injected nothing."""
    import time

    from prodshield.chaos.experiments.schedule import ScheduledExperiments
    from prodshield.config.capabilities import ScheduledExperiment

    (tmp_path / "bad.json").write_text("{not json")
    spec = ScheduledExperiment(name="db-latency", file="bad.json", schedule="0 3 * * *")
    ScheduledExperiments([spec], tmp_path, store).run_one(spec)
    with store.begin() as conn:  # a run stored before not_started was recorded reads the same
        conn.execute(
            t.experiment_journals.insert().values(
                title="old-broken", status="failed", deviated=False, started_at=time.time(),
                ended_at=time.time(), journal={"status": "failed", "problems": ["no method"]},
            )
        )  # fmt: skip
    eng = IncidentEngine(parse_config(CONFIG, env={}).config)
    now = time.time()
    _observe(store, eng, now, False)
    [opened] = _observe(store, eng, now + 1, False)
    with store.connect() as conn:
        found = [i for i in evidence.of_incident(conn, opened.incident_id) if i.kind == "chaos"]
    assert found == [], found
    assert not any("chaos" in e[2]["body"] for e in _outbox(store))


def test_a_deploys_audit_is_three_findings_worst_first_and_a_count(store: Store) -> None:
    """A deploy's audit covers the whole tree: the incident lists its three worst new findings
    and counts the rest per severity, instead of filling the evidence with all of them."""
    config = parse_config(CONFIG, env={}).config
    severities = ["low", "medium", "critical", "low", "high", "medium", "low"]
    with store.begin() as conn:
        conn.execute(
            t.audit_runs.insert().values(
                id=1, started_at=T0 - 60, finished_at=T0 - 50, passed=False
            )
        )
        for n, severity in enumerate(severities):
            conn.execute(
                t.audit_findings.insert().values(
                    run_id=1, family="config", rule=f"rule-{n}", severity=severity,
                    title=f"finding {n}", path="app/settings.py", line=n + 1, fingerprint=f"f{n}",
                )
            )  # fmt: skip
    with store.connect() as conn:
        items = evidence.gather(
            conn, config, service="billing", environment="staging", opened_at=T0, now=T0
        )
    audit = [i.summary for i in items if i.kind == "audit"]
    assert audit[:3] == [
        "critical rule-2: finding 2 (app/settings.py:3)",
        "high rule-4: finding 4 (app/settings.py:5)",
        "medium rule-1: finding 1 (app/settings.py:2)",
    ]
    assert audit[3:] == [
        "4 more new audit findings in run #1 (1 medium, 3 low): see prodshield audit history"
    ]


def test_an_aborted_run_reads_ran_aborted_and_not_running(store: Store) -> None:
    """Newcomer 6, item 7: a run that ended (aborted) after the incident opened was stored as
    ``{"status": "aborted", "running": true}`` under "was running". Its status and ``running``
    agree, and a run on a proxy whose port only begins like the check's is not on its path."""
    config = parse_config(
        CONFIG + "    - {name: other, listen: '127.0.0.1:2808', upstream: '127.0.0.1:8081'}\n",
        env={},
    ).config
    eng = IncidentEngine(config)

    def run(title: str, proxy: str) -> None:
        toxic = {"proxy": proxy, "type": "latency", "attributes": {"latency": 300}}
        with store.begin() as conn:
            conn.execute(
                t.experiment_journals.insert().values(
                    title=title, status="aborted", deviated=False, started_at=T0 - 5,
                    ended_at=T0 + 60, journal={"prodshield": {"toxics": [toxic]}},
                )
            )  # fmt: skip

    run("slow shop", "shop-web")
    run("slow other", "other")  # 127.0.0.1:2808 is not 127.0.0.1:28080
    _observe(store, eng, T0, False)
    [opened] = _observe(store, eng, T0 + 90, False)
    with store.connect() as conn:
        [item] = [i for i in evidence.of_incident(conn, opened.incident_id) if i.kind == "chaos"]
    assert item.details["status"] == "aborted" and item.details["running"] is False, item
    assert item.summary.startswith("chaos experiment 'slow shop' ran (aborted) (started "), item
    assert "on proxy shop-web on shop's path" in item.summary, item
