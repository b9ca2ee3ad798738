"""The README's first command: `prodshield demo` finds what the demo platform plants."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any


def get(url: str, token: str) -> dict[str, Any]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        doc: dict[str, Any] = json.loads(resp.read())
        return doc


def test_demo_shows_checks_an_incident_and_findings(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prodshield",
            "demo",
            "--dir",
            str(tmp_path / "demo"),
            "--port",
            "0",
            "--duration",
            "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = token = None
        lines = []
        deadline = time.time() + 60
        while time.time() < deadline and token is None:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            m = re.search(r"dashboard:\s+(http://\S+/)dashboard\s+login token: (\S+)", line)
            if m:
                base, token = m.group(1), m.group(2)
        if not (base and token):
            proc.kill()
            _, err = proc.communicate(timeout=30)
            raise AssertionError("".join(lines) + (err or "")[-3000:])
        deadline = time.time() + 30
        while time.time() < deadline:  # the URL is printed just before the server listens
            try:
                urllib.request.urlopen(base + "healthz", timeout=5).read()
                break
            except OSError:
                time.sleep(0.5)
        seen: dict[str, set[Any]] = {}
        alerts: list[str] = []
        deadline = time.time() + 100
        while time.time() < deadline:
            checks = get(base + "api/v1/checks", token)["checks"]
            incidents = get(base + "api/v1/incidents", token)["incidents"]
            findings = get(base + "api/v1/findings", token)
            seen = {
                "checks": {(c["name"], c["environment"]) for c in checks if c.get("last_result")},
                "incidents": {
                    (i.get("check") or i.get("check_name"), i.get("environment")) for i in incidents
                },
                "log_kinds": {f["kind"] for f in findings["logs"]},
                "audit_rules": {f["rule"] for f in findings["audit"]["findings"]},
            }
            inbox = tmp_path / "demo" / "alerts.jsonl"
            alerts = inbox.read_text().splitlines() if inbox.exists() else []
            if (
                any("incident.opened" in a and "orders" in a for a in alerts)
                and seen["incidents"]
                and {"brute_force", "out_of_memory", "slow_query", "secret_in_log"}
                <= seen["log_kinds"]
            ):
                break
            time.sleep(3)
        assert {("health", "production"), ("orders", "staging")} <= seen["checks"]
        assert ("orders", "production") in seen["incidents"]
        assert {"brute_force", "out_of_memory", "slow_query", "secret_in_log"} <= seen["log_kinds"]
        assert {"config.django-debug", "permissions.env-file-readable", "tls.self-signed"} <= seen[
            "audit_rules"
        ]
        # the demo's webhook notifier delivered the incident to the demo's alert receiver
        opened = [a for a in map(json.loads, alerts) if a["event"]["type"] == "incident.opened"]
        assert any("orders" in a["event"]["subject"] for a in opened), alerts
        # the token the demo leaks into its log reaches the chat masked, never whole
        assert not re.search(r"ghp_[A-Za-z0-9]{36}", "\n".join(alerts))
        page = urllib.request.urlopen(base, timeout=10).read().decode()
        assert "orders" in page
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "demo stopped" in out
    assert "Traceback" not in err
