"""The service's /metrics text to the byte (help, type, label order, values) for the families read
from the store: what a Prometheus server and its recording rules see must not drift."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.testclient import TestClient

from prodshield.config import parse_config
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web import create_app

CHECK_UP = """\
# HELP prodshield_check_up 1 when the check's last state is up or degraded (it answers), 0 when down (unknown states are omitted).
# TYPE prodshield_check_up gauge
prodshield_check_up{check="website",environment="production"} 1.0
prodshield_check_up{check="website",environment="staging"} 0.0
prodshield_check_up{check="api",environment="production"} 1.0
"""

COUNTS = """\
# HELP prodshield_open_incidents Open incidents per check, service, environment and kind (check empty for a service's SLO incident and a manual one).
# TYPE prodshield_open_incidents gauge
prodshield_open_incidents{check="website",environment="staging",kind="down",service="website"} 1.0
# HELP prodshield_open_incidents_total Open incidents in all.
# TYPE prodshield_open_incidents_total gauge
prodshield_open_incidents_total 1.0
# HELP prodshield_log_findings Occurrences of log findings kept in the store, by kind and severity.
# TYPE prodshield_log_findings gauge
prodshield_log_findings{kind="brute_force",severity="high"} 42.0
prodshield_log_findings{kind="out_of_memory",severity="critical"} 1.0
# HELP prodshield_audit_findings Findings of the latest audit run by severity.
# TYPE prodshield_audit_findings gauge
prodshield_audit_findings{severity="high"} 1.0
prodshield_audit_findings{severity="medium"} 1.0
# HELP prodshield_outbox_depth Notifications waiting to be delivered (pending).
# TYPE prodshield_outbox_depth gauge
prodshield_outbox_depth 1.0
# HELP prodshield_outbox_messages Outbox rows by status.
# TYPE prodshield_outbox_messages gauge
prodshield_outbox_messages{status="dead"} 1.0
prodshield_outbox_messages{status="pending"} 1.0
"""

SLOS = """\
# HELP prodshield_slo_error_budget_remaining Share of the SLO's error budget left over its window (1 untouched, 0 spent, negative overspent).
# TYPE prodshield_slo_error_budget_remaining gauge
prodshield_slo_error_budget_remaining{check="web",environment=""} 1.0
# HELP prodshield_slo_objective The SLO's objective, as a ratio.
# TYPE prodshield_slo_objective gauge
prodshield_slo_objective{check="web"} 0.995
# HELP prodshield_slo_burn_rate Error budget burn rate over each burn-rate alert's windows (1: the sustainable pace).
# TYPE prodshield_slo_burn_rate gauge
prodshield_slo_burn_rate{check="web",environment="",window="1h"} 0.0
prodshield_slo_burn_rate{check="web",environment="",window="5m"} 0.0
# HELP prodshield_service_slo_error_budget_remaining Share of a service SLO's error budget left over its window, all its checks' results together (1 untouched, 0 spent, negative overspent).
# TYPE prodshield_service_slo_error_budget_remaining gauge
prodshield_service_slo_error_budget_remaining{environment="",service="shop"} 1.0
# HELP prodshield_service_slo_objective A service SLO's objective, as a ratio.
# TYPE prodshield_service_slo_objective gauge
prodshield_service_slo_objective{service="shop"} 0.99
# HELP prodshield_service_slo_burn_rate A service's error budget burn rate over each burn-rate alert's windows.
# TYPE prodshield_service_slo_burn_rate gauge
prodshield_service_slo_burn_rate{environment="",service="shop",window="1h"} 0.0
prodshield_service_slo_burn_rate{environment="",service="shop",window="5m"} 0.0
"""

SLO_CONFIG = """
storage: sqlite:///unused.db
services:
  shop: {slo: {objective: 99, window: 1d, alerts: [{long: 1h, short: 5m, burn_rate: 5}]}}
checks:
  - name: web
    type: http
    url: "http://127.0.0.1:9/"
    service: shop
    slo: {objective: 99.5, window: 1d, alerts: [{long: 1h, short: 5m, burn_rate: 14.4}]}
  - {name: cart, type: http, url: "http://127.0.0.1:9/cart", service: shop}
"""


def _block(text: str, first: str, last: str) -> str:
    """The exposition from family ``first`` to the end of family ``last``."""
    start = text.index(f"# HELP {first} ")
    end = text.find("# HELP", text.index(f"# HELP {last} ") + 1)
    return text[start : end if end >= 0 else len(text)]


def test_check_states_and_store_counts_are_exposed_as_before(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.text
    assert _block(text, "prodshield_check_up", "prodshield_check_up") == CHECK_UP
    assert _block(text, "prodshield_open_incidents", "prodshield_outbox_messages") == COUNTS


def test_check_and_service_slos_are_exposed_as_before(store: Store, tmp_path: Path) -> None:
    now = time.time()
    with store.begin() as conn:
        conn.execute(
            t.check_results.insert(),
            [
                {"check_name": name, "environment": "", "ts": now - 60 * k, "ok": True,
                 "response_time_ms": 20.0}
                for name in ("web", "cart")
                for k in range(30)
            ],
        )  # fmt: skip
    path = tmp_path / "shield.yaml"
    path.write_text(SLO_CONFIG)
    loaded = parse_config(SLO_CONFIG, name=str(path), env={}, fs_path=path)
    with TestClient(create_app(loaded, store, token="t" * 20), base_url="http://127.0.0.1") as c:
        text = c.get("/metrics").text
    assert (
        _block(text, "prodshield_slo_error_budget_remaining", "prodshield_service_slo_burn_rate")
        == SLOS
    )
