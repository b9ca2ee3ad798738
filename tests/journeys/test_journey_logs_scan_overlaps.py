"""Journey: ``logs scan`` on lines several rules recognise, as docs/logs.md (Detectors) says: one
line gives one finding, the most specific. A user rule takes its lines from the shipped packs
(the payment gateway's ``connection refused`` is not also a ``db_connection_failure``), a
specific shipped rule from a general one (``FATAL:  too many connections`` is
``db_too_many_connections``, not also a ``fatal_error``), and ``error_logged`` takes none of them."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, shell_env

APP = (
    "2026-12-04 20:00:01,000 ERROR shop.pay: could not connect to payments gateway: connection refused\n"
    "2026-12-04 20:00:02,000 ERROR shop.pay: could not connect to payments gateway: connection refused\n"
    '2026-12-04 20:00:03,000 ERROR shop.db: FATAL:  too many connections for role "shop"\n'
    "2026-12-04 20:00:04,000 ERROR shop.db: could not connect to server: Connection refused\n"
    "2026-12-04 20:00:05,000 ERROR shop.worker: worker 3 was terminated by signal 11\n"
    "2026-12-04 20:00:06,000 ERROR shop.db: OperationalError: deadlock detected\n"
)


def test_one_line_gives_one_finding_the_most_specific(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(APP)
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "logs:\n  rules:\n"
        "    - {kind: payments_down, pattern: 'could not connect to payments gateway', severity: high}\n"
    )
    env = shell_env(drop=("PRODSHIELD_",))
    out = prodshield(tmp_path, "logs", "scan", "app.log", "--format", "json", "--no-store", env=env)
    assert out.returncode == 1, out.stderr
    counts = {f["kind"]: f["count"] for f in json.loads(out.stdout)["findings"]}
    assert counts == {
        "payments_down": 2,
        "db_too_many_connections": 1,
        "db_connection_failure": 1,
        "crash": 1,
        "deadlock": 1,  # not also a db_connection_failure for its OperationalError
    }
    assert sum(counts.values()) == APP.count("\n")  # six lines, six counts

    docs = (Path(__file__).parents[2] / "docs" / "logs.md").read_text()
    assert "One line gives one finding" in docs


def test_security_signals_still_see_a_line_a_rule_took(tmp_path: Path) -> None:
    """A rule taking a line does not hide it from the security signals: failed logins still add
    up to a brute force, and a failed sudo is still a privilege escalation."""
    ssh = "".join(
        f"Dec  4 20:00:{i:02d} web-1 sshd[{100 + i}]: Failed password for root from 203.0.113.9 "
        f"port {40000 + i} ssh2\n"
        for i in range(12)
    )
    sudo = (
        "Dec  4 20:01:00 web-1 sudo: pam_unix(sudo:auth): authentication failure; logname=bob "
        "uid=1000 euid=0 tty=/dev/pts/0 ruser=bob rhost=  user=bob\n"
    )
    (tmp_path / "auth.log").write_text(ssh + sudo)
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "logs:\n  rules:\n"
        "    - {kind: root_login_tried, pattern: 'for root from', severity: high}\n"
        "    - {kind: sudo_denied, pattern: 'sudo:auth', severity: high}\n"
    )
    env = shell_env(drop=("PRODSHIELD_",))
    out = prodshield(
        tmp_path, "logs", "scan", "auth.log", "--format", "json", "--no-store", env=env
    )
    assert out.returncode == 1, out.stderr
    counts: dict[str, int] = {}
    for f in json.loads(out.stdout)["findings"]:  # per kind, over its sources (IPs)
        counts[f["kind"]] = counts.get(f["kind"], 0) + f["count"]
    assert counts["root_login_tried"] == 12 and counts["sudo_denied"] == 1
    # the twelve passwords are the brute force's (one line, one finding), the sudo an auth_failure
    assert counts["auth_failure"] == 1 and counts["brute_force"] == 12
    brute = next(f for f in json.loads(out.stdout)["findings"] if f["kind"] == "brute_force")
    assert brute["details"]["absorbed"] == {"auth_failure": 12}
    assert counts["privilege_escalation_failure"] == 1
