"""Journey: rsyslog's repeat compression (``message repeated 5 times: [ ...]``) stands for five
lines; `logs scan` counted it as one failed login (and one of anything else), so a brute force
hidden behind it went unseen (CLI as a subprocess, syslog lines as rsyslog writes them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.cli import prodshield, wide_env

FAILED = "Failed password for root from {ip} port 22 ssh2"
AUTH = "\n".join(
    [
        f"Dec  7 01:00:00 web1 sshd[4101]: {FAILED.format(ip='203.0.113.5')}",
        f"Dec  7 01:00:04 web1 sshd[4101]: message repeated 5 times: [ {FAILED.format(ip='203.0.113.5')}]",
        f"Dec  7 01:02:00 web1 sshd[4202]: {FAILED.format(ip='198.51.100.7')}",
        f"Dec  7 01:02:30 web1 sshd[4202]: message repeated 9 times: [ {FAILED.format(ip='198.51.100.7')}]",
        "Dec  7 01:03:00 web1 app[77]: ERROR: deadlock detected",
        "Dec  7 01:03:05 web1 app[77]: message repeated 3 times: [ ERROR: deadlock detected]",
        # a hostile count is bounded, and a count too long to be one is not read as one
        "Dec  7 01:04:00 web1 app[78]: message repeated 999999999999 times: [ out of memory]",
        "Dec  7 01:04:10 web1 app[78]: message repeated 999999999 times: [ No space left on device]",
    ]
)


def _scan(tmp_path: Path) -> list[dict[str, Any]]:
    (tmp_path / "auth.log").write_text(AUTH + "\n")
    scan = prodshield(
        tmp_path, "logs", "scan", "auth.log", "--format", "json", "--no-store", env=wide_env()
    )
    assert scan.returncode in (0, 1), scan.stderr
    findings: list[dict[str, Any]] = json.loads(scan.stdout)["findings"]
    return findings


def test_a_repeated_failed_login_counts_each_repeat(tmp_path: Path) -> None:
    found = _scan(tmp_path)
    by = {(f["kind"], f["source"].get("ip")): f for f in found}
    failed = by[("auth_failure", "203.0.113.5")]
    assert failed["count"] == 6, failed
    assert failed["details"]["users"] == {"root": 6}, failed
    # 1 + 9 attempts within a minute: a brute force (10 failed logins within 5 min)
    brute = by[("brute_force", "198.51.100.7")]
    assert brute["details"]["absorbed"] == {"auth_failure": 10}, brute
    assert by[("deadlock", None)]["count"] == 4
    assert by[("out_of_memory", None)]["count"] == 1
    assert by[("disk_full", None)]["count"] == 10_000
