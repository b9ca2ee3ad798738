"""Journey: `logs scan` and `logs digest` on an OpenSSH auth log name each attacker once.

sshd writes `Received disconnect from 195.154.37.122: 3: ... Auth fail [preauth]` after a failed
login; the address pattern took the colon after the address, so the Loghub OpenSSH log gave two
offenders for one machine: `3 failed logins from 195.154.37.122` and `2 failed logins from
195.154.37.122:`, and the digest's top offending IPs listed them apart. The disconnect is the
end of the attempt its session's `Failed password` counted: each of the three attempts counts
once (it counted twice, 6).
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield

ATTACKER = "195.154.37.122"


def _auth_log() -> str:
    lines = []
    for i in range(3):
        pid = 24320 + i
        lines += [
            f"Dec 10 07:51:{10 + i * 5:02d} LabSZ sshd[{pid}]: Failed password for root from "
            f"{ATTACKER} port {56000 + i} ssh2",
            f"Dec 10 07:51:{11 + i * 5:02d} LabSZ sshd[{pid}]: error: Received disconnect from "
            f"{ATTACKER}: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
        ]
    lines.append(
        "Dec 10 07:52:00 LabSZ sshd[24400]: Received disconnect from 2001:db8::7: 3: "
        "com.jcraft.jsch.JSchException: Auth fail [preauth]"
    )
    return "\n".join(lines) + "\n"


def test_one_attacker_is_one_address(tmp_path: Path) -> None:
    (tmp_path / "auth.log").write_text(_auth_log())

    scan = prodshield(tmp_path, "logs", "scan", "auth.log", "--format", "json", "--no-store")
    assert scan.returncode in (0, 1), scan.stderr
    findings = json.loads(scan.stdout)["findings"]
    addresses = {f["source"].get("ip") for f in findings if f["kind"] == "auth_failure"}
    assert addresses == {ATTACKER, "2001:db8::7"}, addresses
    (mine,) = [f for f in findings if f["kind"] == "auth_failure" and f["source"]["ip"] == ATTACKER]
    assert mine["count"] == 3, mine
    assert all(not f["message"].endswith(":") for f in findings), [f["message"] for f in findings]

    digest = prodshield(tmp_path, "logs", "digest", "auth.log", "--format", "json", "--no-store")
    assert digest.returncode == 0, digest.stderr
    top = json.loads(digest.stdout)["security"]["top_ips"]
    assert top == [[ATTACKER, 3], ["2001:db8::7", 1]], top
