"""Journey: the dashboard's Silence form on every kind of incident (`serve` as a subprocess,
the dashboard through HTTP as a browser without JavaScript uses it).

A service's SLO incident (kept on ``service:NAME``, no check's name) was refused with "no check
named 'service:shop'": it is silenced now, shown on the incident and listed by the API. An
incident opened by hand pages only when someone acts on it, so there is nothing automatic to
hold: its page offers no Silence form and says why, and a forged post is refused with the same
reason (it once could silence an unrelated check that shared the service's name).
"""

from __future__ import annotations

import re
from pathlib import Path

from support.alerting import TOKEN, Browser, api, cli, csrf_of, serving, wait
from support.net import answering, http_server


def test_an_slo_incident_is_silenced_and_a_manual_one_says_why_not(tmp_path: Path) -> None:
    with http_server(answering(500)) as target:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            f'serve: {{port: 0, token: "{TOKEN}"}}\n'
            # only the service's SLO opens an incident here (no down incident)
            "defaults: {failure_threshold: 1000}\n"
            "services:\n"
            "  shop: {slo: {objective: 90, window: 1h,"
            " alerts: [{long: 10s, short: 2s, burn_rate: 2}]}}\n"
            "checks:\n"
            f"  - {{name: mail, type: http, url: 'http://127.0.0.1:{target}/',"
            " interval: 1h}\n"
            f"  - {{name: cart, service: shop, type: http,"
            f" url: 'http://127.0.0.1:{target}/', interval: 1s, timeout: 1s}}\n"
        )
        opened = cli(tmp_path, "incident", "open", "Mail is slow", "--service", "mail")
        assert opened.returncode == 0, opened.stderr
        manual_id = int(opened.stdout.split("#")[1].split()[0])
        with serving(tmp_path) as serve:
            port = serve.port
            slo_incident = wait(
                lambda: next(
                    (
                        i
                        for i in api(port, "/api/v1/incidents?status=open")[1]["incidents"]
                        if i["kind"] == "slo"
                    ),
                    None,
                ),
                "the service's burn-rate alert",
                timeout=60,
            )
            browser = Browser(port)
            browser.login()

            page = browser.get(f"/dashboard/incidents/{slo_incident['id']}")
            assert 'class="silence-form"' in page
            status, after = browser.post(
                f"/dashboard/incidents/{slo_incident['id']}/silence",
                {"csrf": csrf_of(page), "for": "1h", "text": "budget burn is known, OPS-7"},
            )
            assert status == 200, after[:800]
            assert "no check named" not in after
            assert re.search(r"Silenced by <b>[^<]+</b> until", after), after[:2000]
            silences = api(port, "/api/v1/silences")[1]["silences"]
            assert [(s["check"], s["reason"]) for s in silences] == [
                ("service:shop", "budget burn is known, OPS-7")
            ]
            shown = api(port, f"/api/v1/incidents/{slo_incident['id']}")[1]
            assert shown["silence"]["reason"] == "budget burn is known, OPS-7"

            page = browser.get(f"/dashboard/incidents/{manual_id}")
            assert 'class="silence-form"' not in page
            assert "No silence here: an incident opened by hand pages only when someone acts" in (
                page
            )
            status, refused = browser.post(
                f"/dashboard/incidents/{manual_id}/silence",
                {"csrf": csrf_of(page), "for": "1h", "text": "forged"},
            )
            assert status == 409, refused[:800]
            assert "an incident opened by hand is not silenced" in refused
            assert "no check named" not in refused
            # nothing was silenced, least of all the check that shares the service's name
            assert len(api(port, "/api/v1/silences")[1]["silences"]) == 1
