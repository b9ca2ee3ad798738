"""Journey: ``serve`` follows an auth log where one address failed to log in five times in an
earlier hour (its detectors' epoch: they start afresh every hour, at a SIGHUP reload and at a
restart), stored as an ``auth_failure`` row. When the same address's brute force formed in the
next epoch, the brute force took that address's failed logins and serve deleted every recent
``auth_failure`` row of the address, the earlier hour's too: its five attempts were counted
nowhere any more (the new brute force counts only its own epoch's). Now serve retracts only what
its current epoch wrote: the earlier hour's row is kept, back at the count it had then."""

from __future__ import annotations

import signal
from pathlib import Path

from support.serve_process import TOKEN, Served, serve, signed_in_page, wait_for

IP = "203.0.113.78"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _failed(i: int, hour: int = 3, ip: str = IP) -> str:
    return (
        f"Dec  7 {hour:02d}:{i // 60:02d}:{i % 60:02d} web1 sshd[{4000 + i}]: "
        f"Failed password for root from {ip} port {40000 + i} ssh2\n"
    )


def _config(log: Path) -> str:
    return (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n"
        f"    - {{name: ssh, path: {log}, format: syslog}}\n"
    )


def _rows(srv: Served) -> list[tuple[str, int]]:
    found = srv.get("/api/v1/findings", headers=AUTH).json()["logs"]
    return sorted((f["kind"], f["count"]) for f in found if f["source"].get("ip") == IP)


def _append(log: Path, first: int, last: int) -> None:
    with log.open("a") as fh:
        fh.write("".join(_failed(i) for i in range(first, last)))


def test_a_reload_keeps_the_earlier_epochs_failed_logins(tmp_path: Path) -> None:
    """The five failed logins an hour before another address's: outside brute force's window
    at the reload, so not carried into the new epoch (failures within it are: the brute force
    then counts them, as ``logs scan`` does:
    tests/journeys/test_journey_logs_serve_epoch_carries_windows.py)."""
    log = tmp_path / "auth.log"
    log.write_text("".join(_failed(i, hour=2) for i in range(5)) + _failed(0, ip="192.0.2.5"))
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    with serve(srv_dir, _config(log), env={"TZ": "UTC"}) as srv:
        wait_for("the first failed logins", lambda: _rows(srv) == [("auth_failure", 5)], 90)
        # a new epoch, as every hour: the detectors start afresh but for what is inside its
        # window (not the address's failures an hour ago), the row goes on from 5
        srv.proc.send_signal(signal.SIGHUP)
        wait_for("the reload", lambda: "new configuration in effect" in srv.output(), 60)
        _append(log, 5, 10)
        wait_for("five more", lambda: _rows(srv) == [("auth_failure", 10)], 90)
        _append(log, 10, 30)
        wait_for("the brute force", lambda: ("brute_force", 25) in _rows(srv), 90)
        # the brute force counts this epoch's 25 attempts; the five before stay where they were
        assert _rows(srv) == [("auth_failure", 5), ("brute_force", 25)], _rows(srv)
        text = signed_in_page(srv, "/dashboard/logs")
        assert "brute_force" in text and "auth_failure" in text, text[-2000:]


def test_a_restart_keeps_the_last_runs_failed_logins(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("".join(_failed(i) for i in range(5)))
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    with serve(srv_dir, _config(log), env={"TZ": "UTC"}) as srv:
        wait_for("the first failed logins", lambda: _rows(srv) == [("auth_failure", 5)], 90)
    _append(log, 5, 30)
    # the next run reads on from its offset: its brute force forms from 25 attempts at once
    with serve(srv_dir, _config(log), env={"TZ": "UTC"}) as srv:
        wait_for("the brute force", lambda: ("brute_force", 25) in _rows(srv), 90)
        assert _rows(srv) == [("auth_failure", 5), ("brute_force", 25)], _rows(srv)


def test_another_files_failed_logins_of_the_address_stay(tmp_path: Path) -> None:
    """Another host's auth log with three failed logins of the address: one ``auth_failure``
    row for both files (a finding's identity leaves its file out), which the brute force in the
    first file took its own lines from, not the other file's."""
    log, other = tmp_path / "auth.log", tmp_path / "web2-auth.log"
    log.write_text("".join(_failed(i) for i in range(5)))
    other.write_text("".join(_failed(i).replace("web1", "web2") for i in range(3)))
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    config = _config(log) + f"    - {{name: ssh2, path: {other}, format: syslog}}\n"
    with serve(srv_dir, config, env={"TZ": "UTC"}) as srv:
        wait_for("the first failed logins", lambda: _rows(srv) == [("auth_failure", 8)], 90)
        _append(log, 5, 30)
        wait_for("the brute force", lambda: ("brute_force", 30) in _rows(srv), 90)
        assert _rows(srv) == [("auth_failure", 3), ("brute_force", 30)], _rows(srv)
