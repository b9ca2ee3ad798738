"""Journey: a grouping window through shield.yaml and `prodshield monitor once`, against the
PagerDuty and ntfy stand-ins.

Three checks of production fail in one run and a staging check with them: with
``defaults.group_window`` production pages once, a single PagerDuty trigger and a single ntfy
message listing the three checks; staging gets its own. Without the window the same outage is
four pages.
"""

from __future__ import annotations

from pathlib import Path

from support.alerting import cli
from support.net import refused_port
from support.standins.paging import NTFY_TOKEN, PD_KEY, PROTECTED_TOPIC, PagingStandin


def _config(tmp_path: Path, rx: PagingStandin, ports: list[int], window: str | None) -> None:
    group = f", group_window: {window}" if window else ""
    a, b, c, d = ports
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f"defaults: {{failure_threshold: 1, success_threshold: 1{group}}}\n"
        "environments:\n"
        "  production: {vars: {host: 127.0.0.1}}\n"
        "  staging: {vars: {host: 127.0.0.1}}\n"
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
        f"  - {{name: api, type: tcp, host: '{{host}}', port: {a}, timeout: 1s,"
        " environments: [production]}\n"
        f"  - {{name: shop, type: http, url: 'http://{{host}}:{b}/', timeout: 1s,"
        " environments: [production]}\n"
        f"  - {{name: search, type: tcp, host: '{{host}}', port: {c}, timeout: 1s,"
        " environments: [production]}\n"
        f"  - {{name: admin, type: tcp, host: '{{host}}', port: {d}, timeout: 1s,"
        " environments: [staging]}\n"
    )


def test_checks_failing_together_page_once_per_environment(tmp_path: Path) -> None:
    ports = [refused_port() for _ in range(4)]  # nothing listens: all four are down
    with PagingStandin.in_thread() as rx:
        _config(tmp_path, rx, ports, "2s")
        done = cli(tmp_path, "monitor", "once")
        assert done.returncode == 1, done.stderr
        assert PD_KEY not in done.stdout + done.stderr and NTFY_TOKEN not in done.stdout
        triggers = [r.json() for r in rx.of("pagerduty")]
        assert len(triggers) == 2, [t["payload"]["summary"] for t in triggers]
        by_env = {t["payload"]["custom_details"]["environment"]: t for t in triggers}
        prod = by_env["production"]["payload"]
        assert prod["summary"].startswith("[production] 3 checks failing together:")
        assert sorted(prod["custom_details"]["checks"].split(", ")) == ["api", "search", "shop"]
        for name in ("api", "search", "shop"):
            assert f"**{name}**" in prod["custom_details"]["details"]
        staging = by_env["staging"]["payload"]
        assert "checks" not in staging["custom_details"]
        assert staging["summary"] == "[staging] admin is down"
        pages = rx.of("ntfy")
        assert len(pages) == 2
        assert any("3 checks failing together" in p.parsed["title"] for p in pages)


def test_without_a_window_each_check_pages(tmp_path: Path) -> None:
    ports = [refused_port() for _ in range(4)]
    with PagingStandin.in_thread() as rx:
        _config(tmp_path, rx, ports, None)
        assert cli(tmp_path, "monitor", "once").returncode == 1
        assert len(rx.of("pagerduty")) == 4
        assert len(rx.of("ntfy")) == 4
