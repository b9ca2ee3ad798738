"""Journey: escalation policies through shield.yaml, `prodshield serve`, the API and PagerDuty's
webhook, against the paging stand-in.

The check's own notifier (ntfy) is told at once; nobody acknowledges, so after the policy's
``after`` the next level (PagerDuty) is paged, once. Someone acknowledges in PagerDuty: its v3
webhook, signed, acknowledges the prodshield incident (a forged or unsigned one is refused). A
second incident acknowledged from the API before ``after`` never escalates. The recovery clears
the PagerDuty alert the escalation opened.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from support.alerting import WEBHOOK_SECRET, api, cli, serving, target_up, wait
from support.net import refused_port
from support.standins.paging import (
    PD_KEY,
    PROTECTED_TOPIC,
    PagingStandin,
    pagerduty_webhook_body,
    post_signed,
)

AFTER_S = 6


def test_unacknowledged_incident_escalates_and_pagerduty_ack_comes_back(tmp_path: Path) -> None:
    shop_port = refused_port()  # held, not listening: down until target_up
    with PagingStandin.in_thread() as rx:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            'serve: {port: 0, token: "journey-token-alerting-0123456789"}\n'
            "defaults: {failure_threshold: 1, success_threshold: 1, escalation: platform}\n"
            "notifiers:\n"
            "  chat:\n"
            "    type: ntfy\n"
            f"    server: {rx.url}\n"
            f"    topic: {PROTECTED_TOPIC}\n"
            '    token: "${NTFY_TOKEN}"\n'
            "  oncall:\n"
            "    type: pagerduty\n"
            '    routing_key: "${PAGERDUTY_ROUTING_KEY}"\n'
            '    webhook_secret: "${PAGERDUTY_WEBHOOK_SECRET}"\n'
            f"    url: {rx.pagerduty_url}\n"
            "escalations:\n"
            "  platform:\n"
            f"    - {{after: {AFTER_S}s, notify: [oncall]}}\n"
            "checks:\n"
            f"  - {{name: shop, type: http, url: 'http://127.0.0.1:{shop_port}/', timeout: 1s,"
            " interval: 1s, alerts: [chat]}\n"
        )
        checked = cli(tmp_path, "config", "check")
        assert checked.returncode == 0, checked.stderr
        shown = cli(tmp_path, "config", "show")
        assert WEBHOOK_SECRET not in shown.stdout and PD_KEY not in shown.stdout

        with serving(tmp_path) as serve:
            port = serve.port
            hook = f"{serve.base}/hooks/pagerduty/oncall"
            [incident] = wait(
                lambda: api(port, "/api/v1/incidents?status=open")[1]["incidents"],
                "the incident to open",
            )
            wait(lambda: rx.of("ntfy"), "the chat message")
            assert rx.of("pagerduty") == []  # level 1 waits for `after`
            wait(lambda: rx.pagerduty, "the escalation", timeout=AFTER_S + 30)
            [alert] = rx.pagerduty.values()
            assert alert.key == "incident:shop:" and alert.actions == ["trigger"]
            trigger = rx.of("pagerduty")[0].json()
            assert trigger["payload"]["summary"].startswith("Escalated (level 1, unacknowledged")
            assert trigger["payload"]["custom_details"]["escalation"] == "platform level 1"
            waited = rx.of("pagerduty")[0].at - incident["opened_at"]
            assert waited >= AFTER_S, waited
            seen = api(port, f"/api/v1/incidents/{incident['id']}")[1]
            [level] = seen["refs"]["escalated"]
            assert level["level"] == 1 and level["notify"] == ["oncall"]

            # PagerDuty's webhook: forged, unsigned and unknown are refused; nothing changes
            body = pagerduty_webhook_body("incident.acknowledged", alert.key, "Mallory")
            assert post_signed(hook, body, ["not-the-secret"])[0] == 401
            req = urllib.request.Request(hook, data=body, method="POST")
            try:
                urllib.request.urlopen(req, timeout=10)
                raise AssertionError("an unsigned webhook was accepted")
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
            other = hook.replace("/oncall", "/chat")
            assert post_signed(other, body, [WEBHOOK_SECRET])[0] == 404
            assert api(port, f"/api/v1/incidents/{incident['id']}")[1]["acknowledged_at"] is None
            ignored = post_signed(
                hook, pagerduty_webhook_body("incident.annotated", alert.key, "x"), [WEBHOOK_SECRET]
            )
            assert ignored == (200, {"ignored": "incident.annotated"})

            # acknowledged in PagerDuty: it comes back, signed
            status, answer = rx.acknowledge_in_pagerduty(alert.key, hook, WEBHOOK_SECRET)
            assert status == 200, answer
            assert answer == {"acknowledged": incident["id"], "by": "Tenex Engineer (PagerDuty)"}
            acked = api(port, f"/api/v1/incidents/{incident['id']}")[1]
            assert acked["acknowledged_by"] == "Tenex Engineer (PagerDuty)"
            # the chat hears of it too
            wait(
                lambda: any(
                    "Tenex Engineer" in (r.parsed or {}).get("title", "") for r in rx.of("ntfy")
                ),
                "the acknowledgement in the chat",
            )

            # the recovery resolves the escalated alert too
            with target_up(shop_port):
                wait(lambda: alert.status == "resolved", "the resolve", timeout=30)
            assert alert.actions[-1] == "resolve"
    log = (tmp_path / "serve.log").read_text()
    assert WEBHOOK_SECRET not in log and "Traceback" not in log, log[-3000:]


def test_an_incident_acknowledged_in_time_never_escalates(tmp_path: Path) -> None:
    api_port = refused_port()
    with PagingStandin.in_thread() as rx:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            'serve: {port: 0, token: "journey-token-alerting-0123456789"}\n'
            "defaults: {failure_threshold: 1, success_threshold: 1}\n"
            "notifiers:\n"
            "  oncall:\n"
            "    type: pagerduty\n"
            '    routing_key: "${PAGERDUTY_ROUTING_KEY}"\n'
            f"    url: {rx.pagerduty_url}\n"
            "escalations:\n"
            f"  db: [{{after: {AFTER_S}s, notify: [oncall]}}]\n"
            "checks:\n"
            f"  - {{name: api, type: tcp, host: 127.0.0.1, port: {api_port}, timeout: 1s,"
            " interval: 1s, alerts: [], escalation: db}\n"
        )
        with serving(tmp_path) as serve:
            port = serve.port
            [incident] = wait(
                lambda: api(port, "/api/v1/incidents?status=open")[1]["incidents"],
                "the incident to open",
            )
            status, acked = api(
                port, f"/api/v1/incidents/{incident['id']}/ack", {"by": "alice", "note": "on it"}
            )
            assert status == 200 and acked["acknowledged_by"] == "alice (via operator)"
            time.sleep(AFTER_S + 4)
            assert rx.of("pagerduty") == []
            final = api(port, f"/api/v1/incidents/{incident['id']}")[1]
            assert "escalated" not in (final["refs"] or {})
    assert json.dumps(final)  # the incident stayed readable throughout
