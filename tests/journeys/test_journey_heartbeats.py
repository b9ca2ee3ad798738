"""Journey: a heartbeat check from configuration to its first ping. `monitor heartbeats` prints
the URL and the curl line; `serve` shows the check as waiting for the first ping (not up, no
uptime); the printed curl line, run as the job would, turns it up; the dashboard shows the full
URL with a working Copy button."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.net import free_port, wait_until
from support.serve import TOKEN, get, start_serve, stop_serve, write_config

CHROMIUM = "/usr/bin/chromium"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), COLUMNS="80")
    return prodshield(cwd, *args, env=env)


def _checks(port: int) -> dict[str, Any]:
    return {c["name"]: c for c in get(port, "/api/v1/checks")["checks"]}


def test_heartbeat_url_from_the_cli_to_the_first_ping(tmp_path: Path) -> None:
    port = free_port()
    write_config(
        tmp_path,
        port,
        "checks:\n"
        "  - {name: nightly-backup, type: heartbeat, period: 24h, interval: 1s}\n"
        "  - {name: weekly-export, type: heartbeat, period: 7d, interval: 1s}\n",
    )
    listed = _cli(tmp_path, "monitor", "heartbeats")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("nightly-backup"))
    assert "waiting for the first ping" in lines[head]
    url = lines[head + 1].strip()
    assert (
        url.startswith(f"http://127.0.0.1:{port}/heartbeat/") and len(url.rsplit("/", 1)[1]) >= 16
    )
    curl = lines[head + 2].strip()
    assert curl.startswith("curl ") and curl.endswith(url)
    # no serve.public_url: the note says which address was used and what to set
    assert "serve.public_url is not set" in listed.stderr and f"127.0.0.1:{port}" in listed.stderr
    as_json = json.loads(_cli(tmp_path, "monitor", "heartbeats", "--format", "json").stdout)
    first = next(h for h in as_json["heartbeats"] if h["check"] == "nightly-backup")
    assert first["url"] == url and first["state"] == "waiting" and first["curl"] == curl
    assert as_json["base_url_configured"] is False

    env = {
        k: v for k, v in os.environ.items() if k not in ("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN")
    }
    serve = start_serve(
        tmp_path / "shield.yaml",
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        checks = wait_until(
            lambda: (c := _checks(port)) and c["nightly-backup"]["last_result"] and c,
            "the first heartbeat run",
        )
        waiting = checks["nightly-backup"]
        assert waiting["status"] == "waiting", waiting
        assert waiting["uptime"]["24h"] is None  # not 100 % before any ping
        status = _cli(tmp_path, "monitor", "status", "--format", "json")
        states = {r["check"]: r for r in json.loads(status.stdout)["checks"]}
        assert states["nightly-backup"]["state"] == "waiting"
        assert states["nightly-backup"]["uptime_24h"] is None
        report = _cli(tmp_path, "monitor", "report", "--format", "json")
        summary = {c["check"]: c for c in json.loads(report.stdout)["checks"]}
        assert summary["nightly-backup"]["uptime_pct"] is None  # not 100 % before any ping

        # the job's last line, exactly as printed
        pinged = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=60)
        assert pinged.returncode == 0, pinged.stderr

        up = wait_until(
            lambda: (c := _checks(port))["nightly-backup"]["status"] == "up" and c,
            "the heartbeat to turn up",
        )
        assert up["weekly-export"]["status"] == "waiting"  # the other job has not pinged yet
        after = _cli(tmp_path, "monitor", "heartbeats").stdout
        assert "nightly-backup (every 1d + 1m grace; last ping" in after and "1 ping)" in after

        _dashboard_shows_full_url(port, url)
    finally:
        stop_serve(serve, timeout=30)


def _dashboard_shows_full_url(port: int, url: str) -> None:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox"], timeout=30000
        )
        try:
            context = browser.new_context()
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            page = context.new_page()
            page.set_default_timeout(15000)
            page.goto(base + "/dashboard/notifications")
            page.fill("#token", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/dashboard/notifications")
            row = page.locator('tr[data-heartbeat="nightly-backup"]')
            assert row.locator("code").inner_text() == url  # whole, not "/heartbeat/9RQg…"
            other = page.locator('tr[data-heartbeat="weekly-export"]')
            assert "waiting for the first ping" in other.inner_text()
            hint = page.locator("section.heartbeats p.hint").inner_text()
            assert "prodshield monitor heartbeats" in hint and "serve.public_url" in hint
            button = row.locator("button.copy")
            assert button.is_visible()
            button.click()
            page.wait_for_function(
                "() => document.querySelector('button.copy').textContent === 'Copied'"
            )
            copied = page.evaluate("() => navigator.clipboard.readText()")
            assert copied == url
            page.goto(base + "/dashboard")
            pill = page.locator('tr[data-check="weekly-export"] .pill')
            assert pill.inner_text() == "waiting for the first ping"
        finally:
            browser.close()
