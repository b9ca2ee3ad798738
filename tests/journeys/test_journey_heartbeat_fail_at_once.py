"""Journey: under ``prodshield serve`` a heartbeat check that runs once an hour. The job's
``…/fail`` ping (POST, with its output) turns the check down and opens its incident within a few
seconds, and a later success ping brings it back up and resolves the incident as promptly: the
signal runs the check when it arrives (before, the check turned down only at its next scheduled
run, 46 s later in the trial, an hour here)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.serve_process import TOKEN, Served, http, serve

CONFIG = (
    "storage: sqlite:///{db}\n"
    f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
    "checks:\n"
    "  - {name: nightly-backup, type: heartbeat, period: 1h, interval: 1h,"
    " failure_threshold: 1, success_threshold: 1}\n"
)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _check(srv: Served) -> dict[str, Any]:
    [only] = srv.get("/api/v1/checks/nightly-backup", headers=AUTH).json()["environments"]
    return dict(only)


def _open(srv: Served) -> list[dict[str, Any]]:
    answer = srv.get("/api/v1/incidents?status=open", headers=AUTH).json()
    return [i for i in answer["incidents"] if i.get("check") == "nightly-backup"]


def _within(seconds: float, what: str, predicate: Any) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {seconds} s")


def test_a_fail_ping_fails_the_check_and_opens_the_incident_at_once(tmp_path: Path) -> None:
    tmp_path.joinpath("shield.yaml").write_text(
        CONFIG.replace("{port}", "0").replace("{db}", str(tmp_path / "store.db"))
    )
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"))
    listed = prodshield(tmp_path, "monitor", "heartbeats", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    token = json.loads(listed.stdout)["heartbeats"][0]["url"].rsplit("/", 1)[1]

    with serve(tmp_path, CONFIG) as srv:
        ping = f"{srv.url}/heartbeat/{token}"
        _within(20, "the first run", lambda: _check(srv).get("last_result"))
        assert http(ping).status == 200  # the first ping: up at once, not at the next run in 1 h
        _within(5, "up after the first ping", lambda: _check(srv)["status"] == "up")

        sent = http(f"{ping}/fail", method="POST", data=b"backup.sh: disk full\n")
        assert sent.status == 200, sent.body
        down = _within(5, "down after /fail", lambda: (c := _check(srv))["status"] == "down" and c)
        assert "failed" in json.dumps(down["last_result"]), down
        [incident] = _within(5, "the incident after /fail", lambda: _open(srv))

        assert http(ping).status == 200
        _within(5, "up after the next success", lambda: _check(srv)["status"] == "up")
        _within(5, "the incident resolved", lambda: not _open(srv))
        seen = srv.get(f"/api/v1/incidents/{incident['id']}", headers=AUTH).json()
        assert seen.get("status", seen.get("incident", {}).get("status")) == "resolved", seen
