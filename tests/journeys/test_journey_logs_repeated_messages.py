"""Journey: rsyslog's repeat compression (``message repeated 5 times: [ ...]``) stands for five
lines; `logs scan` counted it as one failed login (and one of anything else), so a brute force
hidden behind it went unseen (CLI as a subprocess, syslog lines as rsyslog writes them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.cli import prodshield, wide_env
from support.serve_process import TOKEN, serve, wait_for

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


# sysklogd's, FreeBSD's and BusyBox's form names no message: the one above, from the same host
# and program (and process), or the line above in the file when it names no program, N more times
CLASSIC = [
    f"Dec  7 01:00:00 web1 sshd[4101]: {FAILED.format(ip='203.0.113.5')}",
    "Dec  7 01:00:04 web1 sshd[4101]: last message repeated 5 times",
    f"Dec  7 01:02:00 web1 sshd[4202]: {FAILED.format(ip='198.51.100.7')}",
    "Dec  7 01:02:30 web1 last message repeated 9 times",
    "Dec  7 01:03:00 web1 app[77]: ERROR: deadlock detected",
    "Dec  7 01:03:01 web1 CRON[5]: (root) CMD (run-parts /etc/cron.hourly)",
    "Dec  7 01:03:05 web1 app[77]: last message repeated 3 times",
    "Dec  7 01:04:00 web1 app[78]: ERROR payment failed for order 17",
    "Dec  7 01:04:10 web1 app[78]: --- last message repeated 2 times ---",
    # nothing above it from that program: the line alone, counted as nothing
    "Dec  7 01:05:00 web1 nginx[9]: last message repeated 4 times",
]
CLASSIC_COUNTS = {
    ("auth_failure", "203.0.113.5"): 6,
    ("brute_force", "198.51.100.7"): 10,
    ("deadlock", None): 4,
    ("error_logged", None): 3,
}


def _counts(found: list[dict[str, Any]]) -> dict[tuple[str, str | None], int]:
    return {(f["kind"], f["source"].get("ip")): f["count"] for f in found}


def test_last_message_repeated_counts_the_message_above(tmp_path: Path) -> None:
    (tmp_path / "messages").write_text("\n".join(CLASSIC) + "\n")
    env = wide_env(TZ="UTC")
    scan = prodshield(
        tmp_path, "logs", "scan", "messages", "--format", "json", "--no-store", env=env
    )
    assert scan.returncode == 1, scan.stderr
    found = json.loads(scan.stdout)["findings"]
    assert _counts(found) == CLASSIC_COUNTS, found
    brute = next(f for f in found if f["kind"] == "brute_force")
    assert brute["details"]["users"] == {"root": 10}, brute

    digest = prodshield(
        tmp_path,
        "logs",
        "digest",
        "messages",
        "--format",
        "json",
        "--no-store",
        "--since",
        "3650d",
        env=env,
    )
    assert digest.returncode == 0, digest.stderr
    report = json.loads(digest.stdout)
    assert _counts(report["critical"] + report["security"]["findings"]) == CLASSIC_COUNTS


def test_serve_counts_last_message_repeated(tmp_path: Path) -> None:
    log = tmp_path / "messages"
    log.write_text("\n".join(CLASSIC) + "\n")
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n"
        f"    - {{name: host, path: {log}, format: syslog}}\n"
    )
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serve(srv_dir, config, env={"TZ": "UTC"}) as srv:

        def counts() -> dict[tuple[str, str | None], int]:
            return _counts(srv.get("/api/v1/findings", headers=auth).json()["logs"])

        wait_for("serve to store the findings", lambda: counts() == CLASSIC_COUNTS, timeout=90)
        # a repeat line in a later block repeats the message of the block before
        with log.open("a") as fh:
            fh.write("Dec  7 01:06:00 web1 sshd[4101]: last message repeated 7 times\n")
        want = CLASSIC_COUNTS | {("auth_failure", "203.0.113.5"): 13}
        wait_for("the repeats of a later block", lambda: counts() == want, timeout=90)
