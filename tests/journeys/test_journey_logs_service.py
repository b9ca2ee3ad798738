"""Journeys of the log capability as a user runs it: ``logs scan`` and ``logs digest`` on the
configured sources with rules and an nginx ``log_format`` from shield.yaml, and ``serve``
following a growing file, showing its templates (hourly counts, "new" after a deploy marker) and
findings in the API and in the dashboard (Chromium), with the follower's lag on ``/metrics``."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.net import wait_until
from support.serve import read_bound, start_serve, stop_serve

TOKEN = "journey-token-0123456789abcdef"
CHROMIUM = "/usr/bin/chromium"
LAYOUT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time'
)


def _env() -> dict[str, str]:
    return shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), COLUMNS="200", NO_COLOR="1")


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=_env(), timeout=180)


def _access_lines() -> str:
    """An nginx access log: normal traffic, 8 failing checkouts in a minute, a brute-forcer with
    30 failed logins (401) and a scanner."""
    out = []
    t = 0

    def line(ip: str, req: str, status: int, ua: str = "Mozilla/5.0", rt: str = "0.020") -> None:
        nonlocal t
        t += 1
        ts = f"04/Dec/2026:20:{t // 60 % 60:02d}:{t % 60:02d} +0000"
        out.append(f'{ip} - - [{ts}] "{req} HTTP/1.1" {status} 120 "-" "{ua}" {rt}\n')

    for i in range(60):
        line(f"10.0.0.{i % 9}", f"GET /api/items/{1000 + i}", 200)
    for _ in range(8):
        line("10.0.0.77", "POST /api/checkout", 500)
    for _ in range(30):
        line("198.51.100.23", "POST /login", 401)
    for path in ("/.env", "/wp-login.php", "/.git/config"):
        line("203.0.113.66", f"GET {path}", 404, ua="Mozilla/5.0 (Nikto/2.5.0)")
    return "".join(out)


APP_LINES = (
    "2026-12-04 20:00:01,000 INFO shop: started worker 1\n"
    "2026-12-04 20:00:02,000 CRITICAL shop: could not connect to server: Connection refused\n"
    "2026-12-04 20:00:03,000 WARNING shop: card declined for order 4411\n"
    "2026-12-04 20:00:04,000 WARNING shop: card declined for order 4412\n"
)


def _config(port: int, window: str = "1s") -> str:
    return (
        "storage: sqlite:///store.db\n"
        f'serve: {{port: {port}, token: "{TOKEN}"}}\n'
        "logs:\n"
        f"  window: {window}\n"
        "  sources:\n"
        f"    - {{name: web, path: logs/access.log, log_format: '{LAYOUT}'}}\n"
        "    - {name: shop, path: logs/app.log, format: python}\n"
        "  rules:\n"
        "    - kind: payment_declined\n"
        "      pattern: 'card declined for order'\n"
        "      severity: high\n"
        "      threshold: 2\n"
        "      window: 1m\n"
        '      message: "{count} card payments declined"\n'
    )


def test_scan_and_digest_with_rules_on_the_configured_sources(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text(_access_lines())
    (tmp_path / "logs" / "app.log").write_text(APP_LINES)
    (tmp_path / "shield.yaml").write_text(_config(0))

    scan = _cli(tmp_path, "logs", "scan", "--format", "json")
    assert scan.returncode == 1, scan.stderr  # a critical finding: exit 1 for CI
    findings = json.loads(scan.stdout)["findings"]
    kinds = [f["kind"] for f in findings]
    # the user's rule, with its threshold reached and its own message
    declined = next(f for f in findings if f["kind"] == "payment_declined")
    assert declined["count"] == 2 and declined["message"] == "2 card payments declined"
    # one line, one finding: the CRITICAL line is a database failure, not also error_logged
    assert kinds.count("db_connection_failure") == 1 and "error_logged" not in kinds, kinds
    # the 500s are a burst on a readable endpoint
    burst = next(f for f in findings if f["kind"] == "http_5xx_burst")
    assert burst["source"]["endpoint"] == "POST /api/checkout"
    assert "5xx burst on POST /api/checkout" in burst["message"]
    assert all(f["message"] for f in findings), [f["kind"] for f in findings if not f["message"]]
    brute = next(f for f in findings if f["kind"] == "brute_force")
    assert brute["source"]["ip"] == "198.51.100.23" and brute["count"] == 30

    table = _cli(tmp_path, "logs", "scan")
    assert "http_5xx_burst" in table.stdout and "POST /api/checkout" in table.stdout

    digest = _cli(tmp_path, "logs", "digest", "--format", "json")
    assert digest.returncode == 0, digest.stderr
    data = json.loads(digest.stdout)
    assert ["198.51.100.23", 30] in data["security"]["top_ips"], data["security"]["top_ips"]
    assert any(f["kind"] == "payment_declined" for f in data["critical"])
    markdown = _cli(tmp_path, "logs", "digest").stdout
    assert "Top offending IPs: `198.51.100.23` (30)" in markdown
    assert "5xx burst on POST /api/checkout" in markdown

    # an absolute window: only the app log's first two seconds
    windowed = _cli(
        tmp_path,
        "logs",
        "scan",
        "logs/app.log",
        "--from",
        "2026-12-04T20:00:00",
        "--until",
        "2026-12-04T20:00:02",
        "--format",
        "json",
    )
    assert windowed.returncode == 1, windowed.stderr
    got = json.loads(windowed.stdout)
    assert [f["kind"] for f in got["findings"]] == ["db_connection_failure"]
    assert got["stats"]["events"] == 2

    # the digest with an absolute window, its end only (the default 7d baseline has no start)
    until = _cli(tmp_path, "logs", "digest", "--until", "2026-12-04T20:00:02", "--format", "json")
    assert until.returncode == 0, until.stderr
    assert [f["kind"] for f in json.loads(until.stdout)["critical"]] == ["db_connection_failure"]

    # a rule whose pattern is not a regular expression: one located line, exit 2
    (tmp_path / "shield.yaml").write_text(
        _config(0).replace("'card declined for order'", "'card (declined'")
    )
    bad = _cli(tmp_path, "logs", "scan")
    assert bad.returncode == 2
    assert (
        "shield.yaml:10:7: logs.rules[0].pattern" in bad.stderr
        and "not a valid regular expression" in bad.stderr
    )
    assert "Traceback" not in bad.stderr


def _get(port: int, path: str) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
    return json.loads(body) if path.startswith(("/api", "/readyz")) else body


def _wait(predicate: Any, what: str, timeout: float = 90.0) -> Any:
    return wait_until(predicate, what, timeout, interval=0.3)


def _append(path: Path, text: str) -> None:
    with path.open("a") as fh:
        fh.write(text)


def test_serve_follows_a_growing_file_and_shows_templates_and_findings(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    access, app = logs / "access.log", logs / "app.log"
    access.write_text("")
    (tmp_path / "shield.yaml").write_text(_config(0))
    # this hour's lines: the templates panel counts the last 24 hours
    hour = datetime.now(UTC).strftime("%Y-%m-%d %H")
    app.write_text(f"{hour}:00:01,000 INFO shop: started worker 1\n")
    serve = start_serve(
        tmp_path / "shield.yaml",
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port, _ = read_bound(serve)
        _wait(lambda: _get(port, "/api/v1/templates")["templates"], "the first template")
        # the file grows: a worker line a second, a database failure that goes on
        for i in range(6):
            _append(
                app,
                f"{hour}:00:{10 + i:02d},000 INFO shop: started worker {i + 2}\n"
                f"{hour}:00:{10 + i:02d},500 CRITICAL shop: could not connect to "
                "server: Connection refused\n",
            )
            time.sleep(0.4)
        _append(access, _access_lines())

        def templates() -> list[dict[str, Any]]:
            return list(_get(port, "/api/v1/templates")["templates"])

        worker = _wait(
            lambda: next(
                (
                    t
                    for t in templates()
                    if t["template"] == "started worker <*>" and t["count"] == 7
                ),
                None,
            ),
            "the worker template counted 7 times",
        )
        assert sum(worker["hourly"]) == 7 and len(worker["hourly"]) == 24

        burst = _wait(
            lambda: next(
                (
                    f
                    for f in _get(port, "/api/v1/findings")["logs"]
                    if f["kind"] == "http_5xx_burst"
                ),
                None,
            ),
            "the 5xx burst finding",
        )
        assert burst["source"]["endpoint"] == "POST /api/checkout"
        db = [
            f
            for f in _get(port, "/api/v1/findings")["logs"]
            if f["kind"] == "db_connection_failure"
        ]
        assert len(db) == 1 and db[0]["count"] == 6, db  # one row that grew, not one per window
        kinds = [f["kind"] for f in _get(port, "/api/v1/findings")["logs"]]
        assert "error_logged" not in kinds, kinds

        # a deploy: a template first seen after it is "new", the old ones are not
        marked = _cli(tmp_path, "logs", "mark-deploy", "--label", "v2.0")
        assert marked.returncode == 0, marked.stderr
        time.sleep(1.0)
        _append(app, f"{hour}:01:00,000 INFO shop: feature flag checkout_v2 enabled\n")
        fresh = _wait(
            lambda: next((t for t in templates() if "feature flag" in t["template"]), None),
            "the new template",
        )
        answer = _get(port, "/api/v1/templates")
        assert answer["new_since"]["marker"] == "deploy" and answer["new_since"]["label"] == "v2.0"
        assert fresh["new"] is True
        assert next(t for t in answer["templates"] if t["id"] == worker["id"])["new"] is False

        metrics = _get(port, "/metrics")
        assert f'prodshield_log_follower_bytes_behind{{path="{app}"}} 0.0' in metrics
        assert "prodshield_log_follower_seconds_behind" in metrics

        _dashboard_shows_templates(port, worker["id"], fresh["id"])
    finally:
        stop_serve(serve, timeout=60)


def _dashboard_shows_templates(port: int, worker_id: str, fresh_id: str) -> None:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox"], timeout=30000
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(20000)
            page.goto(base + "/dashboard/logs")
            page.fill("#token", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/dashboard/logs")
            worker = page.locator(f'#templates tr[data-template-id="{worker_id}"]')
            assert worker.locator("code").inner_text() == "started worker <*>"
            cells = worker.locator("td").all_inner_texts()
            assert cells[1] == "7"
            assert worker.locator("svg").count() == 1  # the 24-hour sparkline
            assert worker.locator(".pill.new").count() == 0
            fresh = page.locator(f'#templates tr[data-template-id="{fresh_id}"]')
            assert fresh.locator(".pill.new").inner_text() == "new"
            assert (
                "last deploy (v2.0)"
                in page.locator("section", has=page.locator("#templates")).inner_text()
            )
            findings = page.locator("table.findings-table").inner_text()
            assert "5xx burst on POST /api/checkout" in findings
        finally:
            browser.close()
