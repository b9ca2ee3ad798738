"""Journey: an on-call team's paging through shield.yaml and `prodshield monitor once`.

A loopback target goes down and comes back; PagerDuty and ntfy notifiers point at stand-ins that
speak those services' wire formats (tests/support/standins/paging.py). The outage is one PagerDuty
trigger and, after the recovery, one resolve with the same dedup key; ntfy gets both messages;
the routing key and the ntfy token never appear in what the CLI prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from support.net import refused_port, serving_on
from support.standins.paging import NTFY_TOKEN, PD_KEY, PROTECTED_TOPIC, PagingStandin


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def _once(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PRODSHIELD_CONFIG"}
    env.update(PAGERDUTY_ROUTING_KEY=PD_KEY, NTFY_TOKEN=NTFY_TOKEN)
    done = subprocess.run(
        [sys.executable, "-m", "prodshield", *(args or ("monitor", "once"))],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    assert PD_KEY not in done.stdout + done.stderr
    assert NTFY_TOKEN not in done.stdout + done.stderr
    return done


def test_outage_pages_once_and_resolves_the_same_alert(tmp_path: Path) -> None:
    target_port = refused_port()  # held, not listening: the target is down
    with PagingStandin.in_thread() as rx:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "defaults: {failure_threshold: 1, success_threshold: 1}\n"
            "notifiers:\n"
            "  oncall:\n"
            "    type: pagerduty\n"
            '    routing_key: "${PAGERDUTY_ROUTING_KEY}"\n'
            f"    url: {rx.pagerduty_url}\n"
            "  phone:\n"
            "    type: ntfy\n"
            f"    server: {rx.url}\n"
            f"    topic: {PROTECTED_TOPIC}\n"
            '    token: "${NTFY_TOKEN}"\n'
            "checks:\n"
            f"  - {{name: shop, type: http, url: 'http://127.0.0.1:{target_port}/', timeout: 2s}}\n"
        )
        down = _once(tmp_path)
        assert down.returncode == 1
        [alert] = rx.pagerduty.values()
        assert alert.actions == ["trigger"] and alert.status == "triggered"
        assert alert.key.startswith("incident:shop:")
        trigger = rx.of("pagerduty")[0].json()
        assert trigger["payload"]["severity"] == "critical"
        assert "shop" in trigger["payload"]["summary"]
        [page] = rx.of("ntfy")
        assert page.parsed["priority"] == 5 and "shop" in page.parsed["title"]

        again = _once(tmp_path)  # still down: the open incident pages no one again
        assert again.returncode == 1
        assert [a.actions for a in rx.pagerduty.values()] == [["trigger"]]

        with serving_on(target_port, _Healthy, HTTPServer):
            up = _once(tmp_path)
        assert up.returncode == 0, up.stdout + up.stderr
        assert list(rx.pagerduty) == [alert.key]
        assert alert.actions == ["trigger", "resolve"] and alert.status == "resolved"
        resolve = rx.of("pagerduty")[-1].json()
        assert resolve["dedup_key"] == trigger["dedup_key"] == alert.key
        assert len(rx.of("pagerduty")) == 2
        assert [r.parsed["tags"][0] for r in rx.of("ntfy")] == [
            "rotating_light",
            "white_check_mark",
        ]


def test_a_database_outage_pages_once_naming_the_checks_behind_it(tmp_path: Path) -> None:
    """depends_on through shield.yaml and `monitor once`: the database and the API behind it
    fail together; PagerDuty gets one trigger (the database's) listing the API as suppressed,
    and after the recovery one resolve; the API's incident pages no one."""
    db_port, api_port = refused_port(), refused_port()  # held, not listening: both down
    with PagingStandin.in_thread() as rx:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "defaults: {failure_threshold: 1, success_threshold: 1}\n"
            "notifiers:\n"
            "  oncall:\n"
            "    type: pagerduty\n"
            '    routing_key: "${PAGERDUTY_ROUTING_KEY}"\n'
            f"    url: {rx.pagerduty_url}\n"
            "checks:\n"
            f"  - {{name: api, type: http, url: 'http://127.0.0.1:{api_port}/', timeout: 2s,"
            " depends_on: [database]}\n"
            f"  - {{name: database, type: tcp, host: 127.0.0.1, port: {db_port}, timeout: 2s}}\n"
        )
        first = _once(tmp_path)
        assert first.returncode == 1
        # newcomer review 3: the API's line read like a page ("incident #2 opened: api down
        # (critical)"), and `incident show` did not say it was suppressed
        assert "incident #1 opened: database down (critical)\n" in first.stdout, first.stdout
        suppressed = "suppressed by database's incident #1"
        line = next(x for x in first.stdout.splitlines() if "#2 opened: api" in x)
        assert line.endswith(f"{suppressed}: notified to no one"), line
        show = _once(tmp_path, "incident", "show", "2")
        assert suppressed in show.stdout, show.stdout + show.stderr
        [alert] = rx.pagerduty.values()
        assert alert.key.startswith("incident:database:") and alert.actions == ["trigger"]
        details = rx.of("pagerduty")[0].json()["payload"]["custom_details"]
        assert details["suppressed"] == "api"

        with serving_on(db_port, _Healthy, HTTPServer), serving_on(api_port, _Healthy, HTTPServer):
            assert _once(tmp_path).returncode == 0
        assert list(rx.pagerduty) == [alert.key]
        assert alert.actions == ["trigger", "resolve"]
        assert len(rx.of("pagerduty")) == 2
