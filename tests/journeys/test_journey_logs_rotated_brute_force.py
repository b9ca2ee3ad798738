"""A user scans `auth.log*` after logrotate ran in the middle of an attack. Ten failed ssh
logins from one address within 45 s, five in `auth.log.1` and five in `auth.log`, gave two
medium `auth_failure` findings (keyed by file) instead of one high `brute_force`; 400 slow
attempts split in two gave two findings with one fingerprint. A log's rotations are now one log
to the detectors that follow an attacker: one finding, named after the log (`auth.log`), and the
digest's offenders count every line once, though both files have lines 1 to 200.

Through `prodshield logs scan` / `logs digest --format json` as subprocesses on real files.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from support.cli import prodshield, wide_env


def _attempts(n: int, every_s: int, ip: str) -> list[str]:
    start = datetime(2026, 11, 20, 9, 0, 0)  # the past: syslog lines have no year
    stamps = [start + timedelta(seconds=every_s * i) for i in range(n)]
    return [
        f"{at:%b} {at.day:2d} {at:%H:%M:%S} web-1 sshd[{2200 + i}]: Failed password for root "
        f"from {ip} port {40200 + i} ssh2"
        for i, at in enumerate(stamps)
    ]


def _split(tmp_path: Path, lines: list[str]) -> None:
    half = len(lines) // 2
    (tmp_path / "auth.log.1").write_text("\n".join(lines[:half]) + "\n")
    (tmp_path / "auth.log").write_text("\n".join(lines[half:]) + "\n")


def _json(tmp_path: Path, *args: str) -> Any:
    run = prodshield(
        tmp_path,
        "logs",
        *args,
        "auth.log",
        "auth.log.1",
        "--no-store",
        "--log-format",
        "syslog",
        "--format",
        "json",
        env=wide_env(),
    )
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout)


def test_brute_force_split_by_rotation_is_one(tmp_path: Path) -> None:
    _split(tmp_path, _attempts(10, 5, "198.51.100.66"))
    found = [(f["kind"], f["severity"], f["count"]) for f in _json(tmp_path, "scan")["findings"]]
    assert found == [("brute_force", "high", 10)], found


def test_slow_attempts_split_by_rotation_are_one_finding(tmp_path: Path) -> None:
    _split(tmp_path, _attempts(400, 600, "198.51.100.7"))
    found = _json(tmp_path, "scan")["findings"]
    assert [(f["kind"], f["count"], f["source"]) for f in found] == [
        ("auth_failure", 400, {"file": "auth.log", "ip": "198.51.100.7"})
    ], found
    digest = _json(tmp_path, "digest", "--since", "30d")
    assert digest["security"]["top_ips"] == [["198.51.100.7", 400]], digest["security"]
