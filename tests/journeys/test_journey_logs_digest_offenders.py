"""A user reads the digest's top offending IPs: each offending log line is counted once.

Through ``prodshield logs digest`` as a subprocess on a real access log. A scanner's request is
both a ``scanner_probe`` (its path) and a ``suspicious_user_agent`` (its tool); a failed login sent
by a login cracker is part of a ``brute_force`` and a ``suspicious_user_agent``. The IPs' counts are
their requests, not the sum over the detectors that flagged them, and the digest says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env


def _access_log(path: Path) -> None:
    lines = [
        f'203.0.113.9 - - [06/Dec/2026:10:00:0{i} +0000] "GET {probe} HTTP/1.1" 404 12 "-" '
        f'"sqlmap/1.7" 0.005'
        for i, probe in enumerate(("/.env", "/wp-login.php", "/.git/config", "/phpmyadmin/"))
    ]
    lines += [
        f'198.51.100.7 - - [06/Dec/2026:10:01:{i:02d} +0000] "POST /login HTTP/1.1" 401 12 "-" '
        f'"{"hydra" if i < 4 else "Mozilla/5.0"}" 0.005'
        for i in range(40)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_top_offending_ips_count_each_request_once(tmp_path: Path) -> None:
    _access_log(tmp_path / "access.log")
    md = prodshield(tmp_path, "logs", "digest", "access.log", env=wide_env())
    assert md.returncode == 0, md.stderr
    assert "suspicious_user_agent: 8" in md.stdout  # both IPs were flagged twice
    assert "Top offending IPs: `198.51.100.7` (40), `203.0.113.9` (4)" in md.stdout, md.stdout
    assert "a line flagged by several detectors once" in md.stdout

    js = prodshield(tmp_path, "logs", "digest", "access.log", "--format", "json", env=wide_env())
    assert js.returncode == 0, js.stderr
    security = json.loads(js.stdout)["security"]
    assert security["top_ips"] == [["198.51.100.7", 40], ["203.0.113.9", 4]]
    assert "once" in security["top_ips_counted"]


def test_the_same_ip_in_two_files_adds_up(tmp_path: Path) -> None:
    """Two log files are different lines: an IP's counts there are added."""
    _access_log(tmp_path / "a.log")
    _access_log(tmp_path / "b.log")
    md = prodshield(tmp_path, "logs", "digest", "a.log", "b.log", env=wide_env())
    assert md.returncode == 0, md.stderr
    assert "Top offending IPs: `198.51.100.7` (80), `203.0.113.9` (8)" in md.stdout, md.stdout
