"""``prodshield monitor once/run/status`` as a user runs them: a subprocess against real servers."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
import time
from pathlib import Path

from support.monitor import closed_port, http_server


async def prodshield(*args: str, cwd: Path, timeout: float = 30.0) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "prodshield",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def write_config(folder: Path, base: str, extra: str = "") -> Path:
    path = folder / "shield.yaml"
    path.write_text(
        f"""\
storage: sqlite:///store.db
environments:
  production: {{vars: {{base: "{base}"}}}}
  staging: {{vars: {{base: "{base}"}}}}
checks:
  - name: api
    type: http
    url: "{{base}}/ok"
    environments: [production, staging]
    interval: 200ms
    conditions: ["[STATUS] == 200", "[BODY].status == UP"]
{extra}"""
    )
    return path


async def test_once_json_and_exit_codes(tmp_path: Path) -> None:
    async with http_server() as base:
        write_config(tmp_path, base)
        code, out, err = await prodshield("monitor", "once", "--format", "json", cwd=tmp_path)
        assert code == 0, err
        data = json.loads(out)
        assert list(data) == [
            "results",
            "incidents",
            "notifications",
            "closed_issues",
            "adopted_issues",
        ]
        assert data["closed_issues"] == []
        assert data["incidents"] == {"opened": [], "resolved": []}
        assert data["notifications"]["sent"] == 0 and data["notifications"]["deliveries"] == []
        assert [(r["check"], r["environment"]) for r in data["results"]] == [
            ("api", "production"),
            ("api", "staging"),
        ]
        first = data["results"][0]
        assert list(first) == [
            "check",
            "environment",
            "ok",
            "error",
            "response_time_ms",
            "conditions",
            "timings",
            "maintenance",
        ]
        assert first["ok"] is True and first["error"] is None
        assert first["maintenance"] is None  # no window declared: not held
        assert first["conditions"][1] == {"expr": "[BODY].status == UP", "ok": True, "actual": "UP"}
        assert list(first["timings"]) == ["dns", "connect", "tls", "first_byte", "total"]

        write_config(
            tmp_path,
            base,
            extra=f"""\
  - name: down
    type: http
    url: http://127.0.0.1:{closed_port()}/
""",
        )
        code, out, _ = await prodshield("monitor", "once", "--format", "json", cwd=tmp_path)
        assert code == 1
        down = json.loads(out)["results"][-1]
        assert down["ok"] is False and down["error"]["kind"] == "refused"

        code, out, _ = await prodshield("monitor", "once", cwd=tmp_path)  # the table
        assert code == 1 and "refused" in out and "api" in out

        code, out, _ = await prodshield("monitor", "status", "--format", "json", cwd=tmp_path)
        assert code == 0
        rows = {(r["check"], r["environment"]): r for r in json.loads(out)["checks"]}
        assert rows[("api", "production")]["state"] == "up"
        assert rows[("api", "production")]["uptime_24h"] == 100.0
        assert rows[("down", None)]["state"] == "down"
        assert rows[("down", None)]["last_error_kind"] == "refused"


async def test_usage_and_config_errors_exit_2(tmp_path: Path) -> None:
    write_config(tmp_path, "http://127.0.0.1:1")
    code, _, err = await prodshield("monitor", "once", "--check", "nope", cwd=tmp_path)
    assert code == 2 and "no check named 'nope'" in err
    (tmp_path / "shield.yaml").write_text(
        "checks:\n  - name: x\n    type: http\n    url: http://127.0.0.1/\n"
        "    conditions: ['[STATUS] =! 200']\n"
    )
    code, _, err = await prodshield("monitor", "once", cwd=tmp_path)
    assert code == 2
    assert err.startswith("shield.yaml:5:18: checks[0].conditions[0]: expected an operator")


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM check_results").fetchone()[0])
    except sqlite3.Error:  # not created (or migrated) yet
        return 0


async def test_run_stops_on_sigterm_and_flushes(tmp_path: Path) -> None:
    async with http_server() as base:
        write_config(tmp_path, base)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "prodshield",
            "monitor",
            "run",
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stderr is not None
        line = await asyncio.wait_for(proc.stderr.readline(), 20)
        assert b"monitoring 2 targets" in line
        # Six results written (a loaded machine runs fewer in a fixed 1.5 s), then stop: the
        # runs since the last write (every 0.5-1 s; a run every 0.1 s) are flushed at exit.
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
        while _stored(tmp_path / "store.db") < 6 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err
    assert b"stopped:" in err
    with sqlite3.connect(tmp_path / "store.db") as db:
        stored = db.execute("SELECT count(*) FROM check_results").fetchone()[0]
    reported = int(err.decode().split(" stored")[0].rsplit(" ", 1)[1])
    assert stored == reported and stored >= 6  # everything run was flushed before exiting


async def test_repeated_check_and_env_run_all_of_them(tmp_path: Path) -> None:
    async with http_server() as base:
        write_config(
            tmp_path,
            base,
            extra="""\
  - name: web
    type: http
    url: "{base}/ok"
    environments: [production, staging]
  - name: other
    type: http
    url: "{base}/ok"
    environments: [production]
""",
        )
        code, out, err = await prodshield(
            "monitor", "once", "--check", "api", "--check", "web", "--format", "json", cwd=tmp_path
        )
        assert code == 0, err
        ran = {(r["check"], r["environment"]) for r in json.loads(out)["results"]}
        assert ran == {
            ("api", "production"),
            ("api", "staging"),
            ("web", "production"),
            ("web", "staging"),
        }
        code, out, err = await prodshield(
            "monitor", "once", "--check", "api", "--env", "staging", "--env", "production",
            "--format", "json", cwd=tmp_path,
        )  # fmt: skip
        assert code == 0, err
        assert {r["environment"] for r in json.loads(out)["results"]} == {"production", "staging"}
        code, _, err = await prodshield(
            "monitor", "once", "--check", "api", "--check", "nope", cwd=tmp_path
        )
        assert code == 2 and "no check named 'nope'" in err


async def test_dash_h_is_help_everywhere(tmp_path: Path) -> None:
    for args in (["-h"], ["monitor", "-h"], ["monitor", "run", "-h"], ["logs", "scan", "-h"]):
        code, out, err = await prodshield(*args, cwd=tmp_path)
        assert code == 0, (args, err)
        assert "Usage:" in out, args
    code, out, _ = await prodshield("monitor", "run", "-h", cwd=tmp_path)
    assert "--verbose" in out and "-v" in out


async def test_run_verbose_prints_state_changes_and_incidents(tmp_path: Path) -> None:
    """``monitor run -v`` against a port that refuses: failing, then down with the incident."""
    (tmp_path / "shield.yaml").write_text(
        f"""\
storage: sqlite:///store.db
defaults: {{failure_threshold: 2}}
checks:
  - name: gone
    type: http
    url: http://127.0.0.1:{closed_port()}/
    interval: 300ms
"""
    )
    code, _, err = await prodshield(
        "monitor", "run", "-v", "--duration", "4s", cwd=tmp_path, timeout=60
    )
    assert code == 0, err
    lines = err.splitlines()
    assert any("gone: up -> failing (refused:" in line for line in lines), err
    assert any(
        "gone: failing -> down; incident #1 (down) opened (refused:" in line for line in lines
    ), err
    assert sum("opened" in line for line in lines) == 1
