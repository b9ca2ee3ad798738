"""The log service's epoch (every hour) and reload (SIGHUP) on real files and a real store: what
is still inside its window goes on into the new detectors, what left it is let go (bounded
memory). The journeys through ``serve`` are tests/journeys/test_journey_logs_serve_epoch_carries_windows.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.logs.detectors.base import DetectorSettings
from prodshield.logs.detectors.bruteforce import BruteForceDetector
from prodshield.logs.detectors.performance import PerformanceDetector
from prodshield.logs.event import LogEvent
from prodshield.logs.service import LogService
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """\
storage: sqlite:///unused.db
logs:
  window: 0.3s
  brute_force_failures: 20
  sources:
    - {{name: auth, path: auth.log, format: syslog}}
{rules}"""
RULE = """  rules:
    - {kind: payment_declined, pattern: 'card declined', severity: high, threshold: 5, window: 10m}
"""


def _loaded(tmp_path: Path, rules: str = "") -> object:
    text = CONFIG.format(rules=rules)
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    return parse_config(text, name=str(path), env={}, fs_path=path)


def _service(tmp_path: Path, store: Store, rules: str = "") -> LogService:
    service = LogService(_loaded(tmp_path, rules), store, window_s=0.3, poll_s=0.05)
    service._miner = service._load_miner()
    service._resolve()
    return service


def _read(service: LogService, tmp_path: Path, text: str) -> None:
    with (tmp_path / "auth.log").open("a") as fh:
        fh.write(text)
    service._poll_all()
    service._flush()


def _counts(store: Store) -> dict[tuple[str, str], int]:
    with store.connect() as conn:
        rows = conn.execute(
            select(t.log_findings.c.kind, t.log_findings.c.source, t.log_findings.c["count"])
        )
        return {(r.kind, str(r.source.get("ip", ""))): int(r[2]) for r in rows}


def _failed(hhmmss: str, ip: str, pid: int) -> str:
    return (
        f"Dec  7 {hhmmss} web1 sshd[{pid}]: Failed password for root from {ip} port 4{pid} ssh2\n"
    )


def test_a_reload_keeps_sshds_waiting_session(store: Store, tmp_path: Path) -> None:
    """PAM's line of a failed login with no sshd attempt after it waits in its session; a reload
    dropped the session (the attempt was counted nowhere). Now it goes on and is counted once
    the session is quiet."""
    (tmp_path / "auth.log").write_text("")
    service = _service(tmp_path, store)
    _read(
        service,
        tmp_path,
        "Dec  7 03:00:00 web1 sshd[7001]: pam_unix(sshd:auth): authentication failure; "
        "logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.50  user=root\n",
    )
    assert ("auth_failure", "203.0.113.50") not in _counts(store)  # waiting for its attempt
    service.reload(_loaded(tmp_path))
    service._apply_reload()
    _read(service, tmp_path, _failed("03:05:00", "198.51.100.9", 7002))  # five minutes on
    counts = _counts(store)
    assert counts.get(("auth_failure", "203.0.113.50")) == 1, counts
    for f in service.followed.values():
        f.follower.close()


def test_an_epoch_carries_only_what_is_inside_its_window(store: Store, tmp_path: Path) -> None:
    """Brute force's sources and a rule's matches older than their window (before the file's
    newest) are let go at the epoch; the recent ones go on."""
    (tmp_path / "auth.log").write_text("")
    service = _service(tmp_path, store, RULE)
    _read(
        service,
        tmp_path,
        _failed("01:00:00", "192.0.2.1", 100)
        + "Dec  7 01:00:00 web1 app[9]: card declined for order 1\n"
        + _failed("03:00:00", "192.0.2.2", 101)
        + "Dec  7 03:00:00 web1 app[9]: card declined for order 2\n",
    )
    service._new_epoch(time.time())
    collector = service._collector
    assert collector.brute is not None and collector.rules is not None
    assert {ip for _, ip in collector.brute.sources} == {"192.0.2.2"}
    assert len(collector.rules._hits) == 1
    (hits,) = collector.rules._hits.values()
    assert len(hits.times) == 1 and len(hits.held) == 1
    for f in service.followed.values():
        f.follower.close()


def test_an_address_under_the_threshold_at_every_epoch_keeps_only_its_windows_lines(
    store: Store, tmp_path: Path
) -> None:
    """An address failing under the brute-force threshold at every boundary goes on hour to
    hour with its count whole, but only the lines of its failures inside the window (before,
    every failure's line number since it was first seen: 8 bytes a line, without end)."""
    (tmp_path / "auth.log").write_text("")
    service = _service(tmp_path, store)
    ip = "192.0.2.7"
    for hour in range(10):
        # ten failures an hour, ten minutes apart: never 20 within the 5 min window
        _read(
            service,
            tmp_path,
            "".join(
                _failed(f"{hour:02d}:{minute:02d}:00", ip, 100 + hour * 10 + minute // 6)
                for minute in range(0, 60, 6)
            ),
        )
        service._new_epoch(time.time())
    collector = service._collector
    assert collector.brute is not None and collector.rules is not None
    (src,) = collector.brute.sources.values()
    assert src.failures == 100
    assert len(src.lines) == 1  # the last failure's: the only one inside the window
    (finding,) = collector.rules._findings.values()
    assert finding.count == 100 and len(finding.lines) == 1
    assert _counts(store) == {("auth_failure", ip): 100}
    for f in service.followed.values():
        f.follower.close()


def _request(path: str, status: str, second: int) -> LogEvent:
    at = datetime(2026, 12, 7, 5, 0, tzinfo=UTC) + timedelta(seconds=second)
    fields = {"method": "GET", "path": path, "status": status}
    return LogEvent("access.log", second + 1, at, None, f"GET {path} {status}", fields)


def test_an_epoch_carries_at_most_half_the_endpoint_keys() -> None:
    """Every endpoint's requests go on (its error rate is over the whole run), but at most half
    of ``max_keys`` endpoints: those with a 5xx first (whenever their 5xx were), then the most
    requests; a scanner's thousands of paths do not take the next epoch's keys."""
    settings = DetectorSettings(max_keys=100, http_5xx_burst=100)
    old = PerformanceDetector(settings)
    for _ in range(3):
        old.observe(_request("/busy", "200", 0))
    for i in range(300):
        old.observe(_request(f"/p{i}", "500" if i in (5, 250) else "200", i))
    new = PerformanceDetector(settings)
    carried = new.adopt(old)
    assert len(new.endpoints) == 50
    assert {f.source["endpoint"] for f in carried} == {"GET /p5", "(other endpoints)"}
    assert "GET /busy" in new.endpoints
    assert new.endpoints["GET /p5"].requests_before == 1


def test_an_epoch_carries_brute_forces_whenever_their_last_failure_was_at_most_half_the_keys() -> (
    None
):
    """A brute force goes on into the next epoch though its last failure left the window (a
    later failure of the address is the brute force's, as in one scan), the most recent first,
    while the table stays under half of ``max_keys`` (bounded)."""
    settings = DetectorSettings(max_keys=100, http_auth_burst=2, brute_force_window_s=60.0)
    old = BruteForceDetector(settings)
    for i in range(80):
        for second in (i * 1000, i * 1000 + 1):
            event = _request("/login", "401", second)
            event.fields["client_ip"] = f"198.51.100.{i}"
            old.observe(event)
    assert len(old.http) == 80
    new = BruteForceDetector(settings)
    new.adopt(old)
    assert sorted(ip for _, ip in new.http) == sorted(f"198.51.100.{i}" for i in range(30, 80))
    assert all(src.peak == 2 and not src.counts for src in new.http.values())
