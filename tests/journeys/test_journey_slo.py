"""Journey: an SLO with accelerated windows through shield.yaml and `prodshield serve`, its
results from a real loopback server, its alerts through the ntfy stand-in.

The target answers 200, then 503 for a while, then 200 again. The error budget left shows in the
API, on the dashboard and in /metrics, measured from the stored results; the burn-rate alert
(both windows over the rate) opens one `slo` incident and one page, and the recovery resolves it.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from support.alerting import TOKEN, Browser, api, cli, serving, wait
from support.net import refused_port
from support.standins.paging import PROTECTED_TOPIC, PagingStandin


class _Flaky(BaseHTTPRequestHandler):
    failing = False

    def do_GET(self) -> None:
        self.send_response(503 if _Flaky.failing else 200)
        self.end_headers()
        self.wfile.write(b"no" if _Flaky.failing else b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def _metric(port: int, name: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{check="api",environment=""\}} (\S+)$', text, re.M)
    return None if m is None else float(m.group(1))


def _service_metric(port: int, name: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{(environment="",)?service="api"\}} (\S+)$', text, re.M)
    return None if m is None else float(m.group(2))


def test_slo_budget_and_burn_rate_alert_through_serve(tmp_path: Path) -> None:
    target = HTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    _Flaky.failing = False
    try:
        with PagingStandin.in_thread() as rx:
            (tmp_path / "shield.yaml").write_text(
                "storage: sqlite:///store.db\n"
                f'serve: {{port: 0, token: "{TOKEN}"}}\n'
                # only the SLO pages here; unacknowledged, it escalates to PagerDuty
                "defaults: {failure_threshold: 1000, escalation: platform}\n"
                "escalations:\n"
                "  platform: [{after: 2s, notify: [oncall]}]\n"
                "notifiers:\n"
                "  phone:\n"
                "    type: ntfy\n"
                f"    server: {rx.url}\n"
                f"    topic: {PROTECTED_TOPIC}\n"
                '    token: "${NTFY_TOKEN}"\n'
                "  oncall:\n"
                "    type: pagerduty\n"
                '    routing_key: "${PAGERDUTY_ROUTING_KEY}"\n'
                f"    url: {rx.pagerduty_url}\n"
                # a service SLO over its checks (api's service is its name): no alerts here
                "services:\n"
                "  api: {slo: {objective: 95, window: 1h, alerts: []}}\n"
                "checks:\n"
                "  - name: api\n"
                "    type: http\n"
                f"    url: http://127.0.0.1:{target.server_port}/\n"
                "    interval: 1s\n"
                "    timeout: 1s\n"
                "    alerts: [phone]\n"
                "    slo:\n"
                "      objective: 90\n"
                "      window: 1h\n"
                "      alerts: [{long: 20s, short: 4s, burn_rate: 2}]\n"
                "      status_page: true\n"
                "  - {name: quiet, type: http,"
                f" url: 'http://127.0.0.1:{target.server_port}/', interval: 1h,"
                " slo: {objective: 99}}\n"
            )
            with serving(tmp_path) as serve:
                port = serve.port
                slo = wait(
                    lambda: (
                        (s := api(port, "/api/v1/checks/api")[1]["environments"][0]["slo"])
                        and s["results"] >= 3
                        and s
                    ),
                    "the first results",
                )
                assert slo["objective"] == 90 and slo["budget_remaining"] == 1.0
                assert _metric(port, "prodshield_slo_error_budget_remaining") == 1.0
                service = api(port, "/api/v1/checks/api")[1]["environments"][0]["service_slo"]
                assert service["service"] == "api" and service["objective"] == 95
                assert service["results"] >= 3
                assert _service_metric(port, "prodshield_service_slo_objective") == 0.95

                _Flaky.failing = True
                [incident] = wait(
                    lambda: api(port, "/api/v1/incidents?status=open")[1]["incidents"],
                    "the burn-rate alert",
                    timeout=40,
                )
                assert incident["kind"] == "slo" and incident["check"] == "api"
                assert incident["title"] == "api is burning its error budget (2x)"
                [page] = wait(lambda: rx.of("ntfy"), "the page")
                assert "burning its error budget" in page.parsed["title"]
                # nobody acknowledges it: 2 s later its escalation pages PagerDuty, on the
                # SLO's own thread (not the check's outage)
                escalated = wait(lambda: rx.pagerduty.get("slo:api:"), "the escalation", 30)
                assert escalated.status == "triggered"
                assert list(rx.pagerduty) == ["slo:api:"]
                burning = api(port, "/api/v1/checks/api")[1]["environments"][0]["slo"]
                assert burning["failed"] >= 1 and burning["budget_remaining"] < 1.0
                assert burning["firing"].startswith("2x over 20s and 4s")
                left = _metric(port, "prodshield_slo_error_budget_remaining")
                assert left is not None and left < 1.0
                spent = _service_metric(port, "prodshield_service_slo_error_budget_remaining")
                assert spent is not None and spent < 1.0
                browser = Browser(port)
                browser.login()
                page_html = browser.get("/dashboard/checks/api")
                assert "error budget left" in page_html and "burning 2x" in page_html
                # the public status page shows it for the check that asks (status_page: true)
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                    public = r.read().decode()
                api_card = public[public.index('data-service="api"') :][:3000]
                # left, or spent: 503s for a while overspend a 20 s window's budget
                assert "error budget left" in api_card or "error budget <b>exhausted" in api_card
                quiet_card = public[public.index('data-service="quiet"') :][:600]
                assert "error budget" not in quiet_card

                _Flaky.failing = False
                wait(
                    lambda: (
                        api(port, f"/api/v1/incidents/{incident['id']}")[1]["status"] == "resolved"
                    ),
                    "the recovery",
                    timeout=40,
                )
                wait(lambda: len(rx.of("ntfy")) == 2, "the resolved message")
                # the level it reached hears the resolution: the page clears
                wait(lambda: escalated.status == "resolved", "the page resolved", 30)
                assert "back under its alerts" in rx.of("ntfy")[1].parsed["title"]
                assert len(api(port, "/api/v1/incidents")[1]["incidents"]) == 1
    finally:
        target.shutdown()
        target.server_close()
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def test_a_new_check_failing_at_once_pages_down_not_slo(tmp_path: Path) -> None:
    """A new check whose target is down from its first result: `monitor once` (three runs, as a
    workflow would) opens the `down` incident only; three results are too little data for a
    burn-rate alert (docs/monitor.md: at least 10 results over a quarter of the long window)."""
    refused = refused_port()
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "defaults: {failure_threshold: 1}\n"
        "checks:\n"
        "  - name: api\n"
        "    type: tcp\n"
        "    host: 127.0.0.1\n"
        f"    port: {refused}\n"
        "    slo: {objective: 99, alerts: [{long: 1h, short: 5m, burn_rate: 14.4}]}\n"
    )
    opened: list[str] = []
    for _ in range(3):
        done = cli(tmp_path, "monitor", "once", "--format", "json")
        assert done.returncode == 1, done.stderr
        opened += [i["kind"] for i in json.loads(done.stdout)["incidents"]["opened"]]
    assert opened == ["down"]
