"""An attacker sprays addresses (a botnet, or IPv6 addresses from one /64) at a server that
``prodshield serve`` watches: failed ssh logins and HTTP probes from a new address every line.

``serve`` follows the files as a user runs it; the findings are read from its store. The detectors
track at most ``logs.detector_keys`` addresses each (2,000 here); the others are folded into one
finding per kind and file whose count is exact ("58,000 failed logins from about 58,000 other
addresses"), so the rows stay few, the failed logins over all rows still add up to the lines, and
a slow brute-forcer hidden among the sprayed addresses (12 failed logins, 5,000 sprayed lines
apart: more than the detector keeps) still gets its ``brute_force`` finding.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from support.cli import shell_env
from support.serve import read_bound, start_serve, stop_serve

SPRAYED = 60_000
BRUTE = "192.0.2.77"
KEYS = 2_000


def _address(n: int) -> str:
    if n % 2:
        return f"2001:db8:0:{n >> 16:x}::{n & 0xFFFF:x}"
    return f"10.{(n >> 16) & 0xFF}.{(n >> 8) & 0xFF}.{n & 0xFF}"


def _auth_log() -> tuple[str, int]:
    """sshd's failed logins from 60,000 addresses over 4 minutes, and the brute-forcer's 12
    failed logins, 20 s and 5,000 lines apart; (the text, its failed logins)."""
    out = []
    for i in range(SPRAYED):
        sec = i * 240 // SPRAYED
        if i % 5000 == 2500:
            out.append(
                f"Dec  6 10:{sec // 60:02d}:{sec % 60:02d} web1 sshd[999]: Failed password for "
                f"admin from {BRUTE} port 22 ssh2\n"
            )
        out.append(
            f"Dec  6 10:{sec // 60:02d}:{sec % 60:02d} web1 sshd[{i % 30000}]: Failed password "
            f"for root from {_address(i)} port 22 ssh2\n"
        )
    return "".join(out), len(out)


def _access_log() -> str:
    """nginx: 10,000 probes for /.env, each from an address and on a path of its own."""
    return "".join(
        f"{_address(i)} - - [06/Dec/2026:10:{i * 240 // 10_000 // 60:02d}:"
        f'{i * 240 // 10_000 % 60:02d} +0000] "GET /p{i}/.env HTTP/1.1" 404 0 "-" "Mozilla/5.0" '
        "0.001\n"
        for i in range(10_000)
    )


def _rows(db: Path) -> list[Any]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT kind, count, source, message FROM log_findings")))
    finally:
        engine.dispose()


def test_serve_keeps_findings_bounded_and_counts_exact_under_address_spraying(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    auth, failed = _auth_log()
    (logs / "auth.log").write_text(auth)
    (logs / "access.log").write_text(_access_log())
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "serve: {port: 0}\n"
        "logs:\n"
        "  window: 1s\n"
        f"  detector_keys: {KEYS}\n"
        "  sources:\n"
        "    - {name: auth, path: logs/auth.log, format: syslog}\n"
        "    - {name: web, path: logs/access.log, format: nginx}\n"
    )
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), NO_COLOR="1")
    serve = start_serve(tmp_path / "shield.yaml", cwd=tmp_path, env=env)
    try:
        read_bound(serve)
        deadline = time.monotonic() + 90
        while True:
            rows = _rows(tmp_path / "store.db")
            auth_total = sum(int(r[1]) for r in rows if r[0] == "auth_failure")
            probes = sum(int(r[1]) for r in rows if r[0] == "scanner_probe")
            if (auth_total, probes) == (failed, 10_000):
                break
            assert time.monotonic() < deadline, (auth_total, probes, len(rows))
            time.sleep(0.5)
    finally:
        stop_serve(serve)
    rows = _rows(tmp_path / "store.db")
    # every failed login and every probe counted once, in a bounded number of rows: the rule
    # pack tracks 2,000 addresses (both files), and folds the others
    assert sum(int(r[1]) for r in rows if r[0] == "auth_failure") == failed
    assert sum(int(r[1]) for r in rows if r[0] == "scanner_probe") == 10_000
    tracked = [r for r in rows if r[0] in ("auth_failure", "scanner_probe") and '"ip"' in r[2]]
    assert len(tracked) == KEYS, len(tracked)
    assert len(rows) <= KEYS + 10, len(rows)
    # the brute-forcer, hidden among 60,000 addresses, is named
    brute = [(r[1], r[3]) for r in rows if r[0] == "brute_force"]
    assert len(brute) == 1 and brute[0][0] >= 10, brute
    assert brute[0][1] == f"{brute[0][0]} failed logins from {BRUTE}"
    # the addresses past the cap: one finding per kind and file, saying how many
    folded = {r[0]: r for r in rows if '"others"' in r[2]}
    for kind, what in (
        ("auth_failure", "failed logins"),
        ("scanner_probe", "requests probing for vulnerable paths"),
    ):
        count, message = int(folded[kind][1]), folded[kind][3]
        found = re.match(rf"{count:,} {what} from about ([\d,]+) other addresses", message)
        assert found, message
        # each sprayed address sent one line (the brute-forcer's 12 are one address)
        assert abs(int(found.group(1).replace(",", "")) - count) < count * 0.03, message
    assert re.search(r"\(e\.g\. /p\d+/\.env\)$", folded["scanner_probe"][3])
