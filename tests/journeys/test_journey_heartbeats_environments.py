"""Journey: one heartbeat check in two environments (production and staging both have a
``nightly-backup`` job), next to a check whose own name is ``nightly-backup@staging``. Each has
its own ping URL; staging's job pinging its URL turns staging's check up and leaves production's
(and the other check) waiting; the ping's answer, ``monitor heartbeats``, the status page name
the environment, and ``run-job`` refuses to guess it."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path

from support.cli import prodshield, shell_env
from support.net import free_port, wait_until
from support.pages import service_card
from support.serve import get, serving, write_config


def _env() -> dict[str, str]:
    return shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), COLUMNS="200", NO_COLOR="1")


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=_env())


def _states(port: int) -> dict[tuple[str, str | None], str]:
    return {
        (c["name"], c.get("environment") or None): c["status"]
        for c in get(port, "/api/v1/checks")["checks"]
    }


def test_a_ping_to_staging_never_keeps_production_green(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(
        tmp_path,
        port,
        "environments:\n"
        "  production: {}\n"
        "  staging: {}\n"
        "checks:\n"
        "  - {name: nightly-backup, type: heartbeat, period: 24h, interval: 1s,\n"
        "     environments: [production, staging]}\n"
        "  - {name: nightly-backup@staging, type: heartbeat, period: 24h, interval: 1s}\n",
    )
    listed = _cli(tmp_path, "monitor", "heartbeats", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    urls = {
        (h["check"], h["environment"]): h["url"] for h in json.loads(listed.stdout)["heartbeats"]
    }
    assert set(urls) == {
        ("nightly-backup", "production"),
        ("nightly-backup", "staging"),
        ("nightly-backup@staging", None),
    }
    assert len(set(urls.values())) == 3, urls  # one URL per check and environment

    with serving(config, env=_env()):
        wait_until(
            lambda: all(s == "waiting" for s in _states(port).values()) and len(_states(port)) == 3,
            "the three heartbeats waiting for their first ping",
            90,
        )
        with urllib.request.urlopen(urls[("nightly-backup", "staging")], timeout=10) as r:
            answer = json.loads(r.read())
        assert answer["ok"] is True
        assert (answer["check"], answer["environment"]) == ("nightly-backup", "staging")

        wait_until(
            lambda: _states(port)[("nightly-backup", "staging")] == "up",
            "staging's heartbeat to turn up",
            60,
        )
        states = _states(port)
        assert states[("nightly-backup", "production")] == "waiting", states
        assert states[("nightly-backup@staging", None)] == "waiting", states

        page = get(port, "/")
        assert "1 ping" in service_card(page, "nightly-backup", "staging")
        assert "no ping received yet" in service_card(page, "nightly-backup", "production")

        # run-job addresses the environment: it refuses to guess, and --env picks one
        guessed = _cli(tmp_path, "run-job", "nightly-backup", "--", "true")
        assert guessed.returncode == 2, guessed.stderr
        assert "runs in production, staging: say which with --env" in guessed.stderr
        assert "Traceback" not in guessed.stderr
        ran = _cli(tmp_path, "run-job", "nightly-backup", "--env", "production", "--", "true")
        assert ran.returncode == 0, ran.stderr
        wait_until(
            lambda: _states(port)[("nightly-backup", "production")] == "up",
            "production's heartbeat to turn up after its own job ran",
            60,
        )
        assert _states(port)[("nightly-backup@staging", None)] == "waiting"

        table = _cli(tmp_path, "monitor", "heartbeats").stdout
        assert re.search(r"^nightly-backup@production \(every 1d .*last ping", table, re.M), table
        pings = {
            (h["check"], h["environment"]): h["pings"]
            for h in json.loads(_cli(tmp_path, "monitor", "heartbeats", "--format", "json").stdout)[
                "heartbeats"
            ]
        }
        assert pings == {
            ("nightly-backup", "production"): 1,
            ("nightly-backup", "staging"): 1,
            ("nightly-backup@staging", None): 0,
        }
