"""Journey: one failed ssh login is one attempt, and one attacker one offender.

sshd and pam_unix write one failed password as several lines of one sshd process (host and pid):
PAM's ``authentication failure; ... rhost=NAME`` (the attacker's reverse-DNS name, or its
address), then sshd's ``Failed password for root from IP port N ssh2``. ``logs scan`` counted both
lines and keyed them apart: one attacker was two offenders (``198.51.100.23`` and
``scanner.example.net``) in the findings and in the digest's top offending IPs, and its attempts
were counted twice. A brute force then reported the same attempts a third time, beside the
``auth_failure`` findings of the same lines. Now each attempt counts once, keyed by the address;
a PAM line no sshd line follows (PAM logging alone) is one attempt; and the brute force takes the
``auth_failure``/``invalid_user`` findings of its address (``details.absorbed``) in ``logs scan``,
``logs digest`` and ``serve``.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.net import wait_until
from support.serve import read_bound, start_serve, stop_serve

A, A_NAME = "198.51.100.23", "scanner.example.net"
B = "203.0.113.7"
PAM = (
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
    "rhost={rhost}  user={user}"
)
TOKEN = "journey-token-0123456789abcdef"


def _stamp(second: int) -> str:
    return f"Dec  6 10:{second // 60:02d}:{second % 60:02d}"


def _root_attempt(pid: int, second: int, ip: str = A, rhost: str = A_NAME) -> list[str]:
    """PAM's line, then sshd's two seconds later (what sshd with UsePAM writes)."""
    return [
        f"{_stamp(second)} web-1 sshd[{pid}]: " + PAM.format(rhost=rhost, user="root"),
        f"{_stamp(second + 2)} web-1 sshd[{pid}]: Failed password for root from {ip} port "
        f"{40000 + pid} ssh2",
        f"{_stamp(second + 2)} web-1 sshd[{pid}]: Received disconnect from {ip}: 11: Bye Bye "
        "[preauth]",
    ]


def _unknown_user_attempt(pid: int, second: int) -> list[str]:
    """Loghub OpenSSH's shape: five lines of one attempt at an unknown user."""
    at = f"{_stamp(second)} web-1 sshd[{pid}]: "
    return [
        f"{at}Invalid user admin from {B}",
        f"{at}input_userauth_request: invalid user admin [preauth]",
        f"{at}pam_unix(sshd:auth): check pass; user unknown",
        at + PAM.format(rhost=B, user="").rstrip().removesuffix("user=").rstrip(),
        f"{_stamp(second + 3)} web-1 sshd[{pid}]: Failed password for invalid user admin from {B} "
        f"port {50000 + pid} ssh2",
    ]


def _auth_log() -> str:
    lines: list[str] = []
    for n in range(4):  # four attempts from A, its PAM lines naming it by its host name
        lines += _root_attempt(2000 + n, 10 * n)
    for n in range(3):  # three attempts at an unknown user from B
        lines += _unknown_user_attempt(2100 + n, 50 + 10 * n)
    # a relay that wrote sshd's line before PAM's (the same second): still one attempt
    lines += [
        f"{_stamp(90)} web-1 sshd[2200]: Failed password for root from {A} port 41000 ssh2",
        f"{_stamp(90)} web-1 sshd[2200]: " + PAM.format(rhost=A_NAME, user="root"),
    ]
    # PAM alone (sshd's line lost): one attempt each; A's host name is known by now
    lines.append(f"{_stamp(100)} web-1 sshd[2300]: " + PAM.format(rhost=A_NAME, user="root"))
    lines.append(
        f"{_stamp(101)} web-1 sshd[2301]: " + PAM.format(rhost="pamonly.example.org", user="root")
    )
    return "\n".join(lines) + "\n"


def test_each_attempt_once_and_each_attacker_once(tmp_path: Path) -> None:
    (tmp_path / "auth.log").write_text(_auth_log())
    env = shell_env(drop=("PRODSHIELD_",), TZ="UTC")
    scan = prodshield(
        tmp_path, "logs", "scan", "auth.log", "--format", "json", "--no-store", env=env
    )
    assert scan.returncode == 0, scan.stderr
    got = sorted(
        (f["kind"], str(f["source"].get("ip")), f["count"])
        for f in json.loads(scan.stdout)["findings"]
        if f["category"] == "security"
    )
    assert got == [
        ("auth_failure", A, 6),  # 4 + the reordered one + PAM alone
        ("auth_failure", "pamonly.example.org", 1),
        ("invalid_user", B, 3),
    ], got

    digest = prodshield(
        tmp_path, "logs", "digest", "auth.log", "--format", "json", "--no-store", env=env
    )
    assert digest.returncode == 0, digest.stderr
    top = json.loads(digest.stdout)["security"]["top_ips"]
    assert top == [[A, 6], [B, 3], ["pamonly.example.org", 1]], top


def _brute_force_log() -> str:
    lines: list[str] = []
    for n in range(12):  # twelve attempts within two minutes: a brute force
        lines += _root_attempt(3000 + n, 10 * n, ip="192.0.2.50", rhost="192.0.2.50")
    return "\n".join(lines) + "\n"


def _security(findings: list[dict[str, Any]]) -> list[tuple[str, Any, int, Any]]:
    return sorted(
        (f["kind"], f["source"].get("ip"), f["count"], f.get("details", {}).get("absorbed"))
        for f in findings
        if f["category"] == "security"
    )


BRUTE = [("brute_force", "192.0.2.50", 12, {"auth_failure": 12})]


def test_a_brute_force_takes_its_failed_logins_in_scan_digest_and_serve(tmp_path: Path) -> None:
    (tmp_path / "auth.log").write_text(_brute_force_log())
    env = shell_env(drop=("PRODSHIELD_",), TZ="UTC")
    scan = prodshield(
        tmp_path, "logs", "scan", "auth.log", "--format", "json", "--no-store", env=env
    )
    assert scan.returncode == 0, scan.stderr
    assert _security(json.loads(scan.stdout)["findings"]) == BRUTE

    digest = prodshield(
        tmp_path, "logs", "digest", "auth.log", "--format", "json", "--no-store", env=env
    )
    assert digest.returncode == 0, digest.stderr
    security = json.loads(digest.stdout)["security"]
    assert _security(security["findings"]) == BRUTE
    assert security["top_ips"] == [["192.0.2.50", 12]]
    md = prodshield(tmp_path, "logs", "digest", "auth.log", "--no-store", env=env)
    assert "brute_force: 12" in md.stdout and "auth_failure" not in md.stdout, md.stdout

    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n    - {name: auth, path: auth.log, format: syslog}\n"
    )
    serve = start_serve(tmp_path / "shield.yaml", cwd=tmp_path, env=env, stdout=subprocess.PIPE)
    try:
        port, _ = read_bound(serve)

        def findings() -> list[dict[str, Any]]:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/findings",
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            with urllib.request.urlopen(req, timeout=10) as r:
                return list(json.loads(r.read().decode())["logs"])

        rows = wait_until(
            lambda: [f for f in findings() if f["kind"] == "brute_force"] and findings(),
            "the brute force finding",
            90,
            interval=0.3,
        )
        # the API shows no details: one finding, the brute force, counting each attempt once
        assert _security(rows) == [("brute_force", "192.0.2.50", 12, None)], rows
    finally:
        stop_serve(serve)


def test_an_offender_known_only_by_its_host_name_reads_host_not_ip(tmp_path: Path) -> None:
    """A review: `logs scan` labelled PAM's rhost name `ip=pamonly.example.org`."""
    (tmp_path / "auth.log").write_text(_auth_log())
    env = shell_env(drop=("PRODSHIELD_",), TZ="UTC", COLUMNS="200")
    table = prodshield(tmp_path, "logs", "scan", "auth.log", "--no-store", env=env)
    assert table.returncode == 0, table.stderr
    assert "host=pamonly.example.org" in table.stdout, table.stdout
    assert "ip=pamonly" not in table.stdout and f"ip={A}" in table.stdout, table.stdout
