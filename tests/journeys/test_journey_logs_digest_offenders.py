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
    assert "each once however many detectors flagged it" in md.stdout

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


def _mixed_log(path: Path) -> None:
    """One IP flagged by different detectors on different lines: 30 failed logins (brute_force),
    5 probes for vulnerable paths (scanner_probe), 4 requests by a scanning tool
    (suspicious_user_agent) and 2 requests that are both (counted once each)."""
    ip = "192.0.2.50"
    lines = [
        f'{ip} - - [06/Dec/2026:11:00:{i:02d} +0000] "POST /login HTTP/1.1" 401 12 "-" '
        f'"Mozilla/5.0" 0.005'
        for i in range(30)
    ]
    lines += [
        f'{ip} - - [06/Dec/2026:11:01:{i:02d} +0000] "GET /.env HTTP/1.1" 404 0 "-" "Mozilla/5.0" 0.001'
        for i in range(5)
    ]
    lines += [
        f'{ip} - - [06/Dec/2026:11:02:{i:02d} +0000] "GET /shop HTTP/1.1" 200 9 "-" "nikto/2.5" 0.002'
        for i in range(4)
    ]
    lines += [
        f'{ip} - - [06/Dec/2026:11:03:{i:02d} +0000] "GET /.git/config HTTP/1.1" 404 0 "-" '
        f'"nikto/2.5" 0.001'
        for i in range(2)
    ]
    lines.append(
        '198.51.100.1 - - [06/Dec/2026:11:04:00 +0000] "GET / HTTP/1.1" 200 9 "-" "Mozilla/5.0" 0.001'
    )
    path.write_text("\n".join(lines) + "\n")


def test_an_ip_flagged_by_different_detectors_on_different_lines_counts_every_line(
    tmp_path: Path,
) -> None:
    """41 flagged lines from one IP are 41, not the 30 of its largest detector (the columnar
    engine counts the same: tests/logs/test_logs_detectors.py)."""
    _mixed_log(tmp_path / "access.log")
    for window in ((), ("--since", "24h")):
        js = prodshield(
            tmp_path, "logs", "digest", "access.log", *window, "--format", "json", env=wide_env()
        )
        assert js.returncode == 0, js.stderr
        data = json.loads(js.stdout)
        kinds = {f["kind"]: f["count"] for f in data["security"]["findings"]}
        assert kinds == {
            "brute_force": 30,
            "scanner_probe": 7,
            "suspicious_user_agent": 6,
        }, (window, kinds)
        assert data["security"]["top_ips"] == [["192.0.2.50", 41]], (window, data["security"])
    md = prodshield(tmp_path, "logs", "digest", "access.log", env=wide_env())
    assert md.returncode == 0, md.stderr
    assert "Top offending IPs: `192.0.2.50` (41)" in md.stdout, md.stdout


def test_the_brute_force_table_lists_the_biggest_first_and_says_how_many_more(
    tmp_path: Path,
) -> None:
    """A review: the digest's brute-force table showed the first 10 sources in file order, so a
    source with 80 attempts could be its last row and one with 23 missing, with no word of it."""
    lines = []
    for k in range(12):  # source k tries 20 + 5k passwords; the biggest come last in the file
        ip = f"198.51.100.{k + 1}"
        lines += [
            f'{ip} - - [06/Dec/2026:10:{k:02d}:{i % 60:02d} +0000] "POST /login HTTP/1.1" 401 12 '
            f'"-" "Mozilla/5.0" 0.005'
            for i in range(20 + 5 * k)
        ]
    (tmp_path / "access.log").write_text("\n".join(lines) + "\n")
    md = prodshield(tmp_path, "logs", "digest", "access.log", env=wide_env())
    assert md.returncode == 0, md.stderr
    rows = [line for line in md.stdout.splitlines() if line.startswith("| `198.51.100.")]
    attempts = [int(row.split("|")[2]) for row in rows]
    assert attempts == sorted(attempts, reverse=True) and len(rows) == 10, md.stdout
    assert attempts[0] == 75 and rows[0].startswith("| `198.51.100.12`"), md.stdout
    assert "_and 2 more (`logs scan` lists them all)_" in md.stdout
