"""Journey: a check removed from shield.yaml kept its open incident forever: no result would ever
come to resolve it, so it stayed open on the status page, the dashboard and the API, and its
GitHub issue was never closed. Now the next `monitor once`, or `serve` after a SIGHUP reload,
resolves it with the reason ("check removed from shield.yaml") and its notifiers hear it like a
recovery (the issue is closed, with a comment saying why). The check that stays is untouched."""

from __future__ import annotations

import signal
import sqlite3
import textwrap
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from support.cli import prodshield, wide_env
from support.serve import get, read_bound, start_serve, stop_serve
from support.standins.github import GitHubStandin
from support.standins.loopback_app import serve_app

TOKEN = "ghp_" + "R" * 36
REPO = "acme/platform"
REASON = "check removed from shield.yaml"


def _setup(app: web.Application) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(text="database down", status=503)

    app.router.add_get("/ok", ok)
    app.router.add_get("/broken", broken)


def _config(url: str, gh: str, *, with_api: bool, serve: str = "") -> str:
    api = f"  - {{name: api, type: http, url: '{url}/broken', interval: 1s}}\n"
    return textwrap.dedent(
        f"""\
            storage: sqlite:///store.db
            {serve}
            defaults: {{failure_threshold: 1}}
            notifiers:
              gh: {{type: github, repo: {REPO}, token: "{TOKEN}", api_url: "{gh}"}}
            checks:
              - {{name: web, type: http, url: '{url}/ok', interval: 1s}}
            """
    ) + (api if with_api else "")


def _incidents(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT id, check_name, status, resolved_by, notes FROM incidents ORDER BY id"
        ).fetchall()


def _wait(what: str, predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout  # a bound for a loaded machine, not a timing
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _series(port: int, token: str, check: str) -> int:
    """How many /metrics lines name ``check`` (its histogram, its open incident)."""
    text = str(get(port, "/metrics", token=token))
    return sum(f'check="{check}"' in line for line in text.splitlines() if line[:1] != "#")


def _closed_with_reason(gh: GitHubStandin) -> None:
    [issue] = gh.issues(REPO)
    assert issue["title"] == "api is down", issue
    assert issue["state"] == "closed", issue
    said = [c["body"] for c in gh.comments(REPO, issue["number"])]
    assert any(REASON in body for body in said), said


def test_monitor_once_resolves_the_incident_of_a_removed_check(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        config.write_text(_config(url, gh.url, with_api=True))
        first = prodshield(tmp_path, "monitor", "once", "--notify-wait", "20s", env=wide_env())
        assert first.returncode == 1, first.stderr
        [issue] = gh.issues(REPO, "open")
        assert issue["title"] == "api is down"

        config.write_text(_config(url, gh.url, with_api=False))
        second = prodshield(tmp_path, "monitor", "once", "--notify-wait", "20s", env=wide_env())
        assert second.returncode == 0, second.stdout + second.stderr  # web passes
        assert f"incident #1 resolved: api down (critical): {REASON}" in second.stdout
        _closed_with_reason(gh)
        [(_, check, status, by, _notes)] = _incidents(tmp_path / "store.db")
        assert (check, status, by) == ("api", "resolved", "config")

        # nothing more to say on the next run: one closing, not one per run
        requests = len(gh.requests)
        third = prodshield(tmp_path, "monitor", "once", "--notify-wait", "5s", env=wide_env())
        assert third.returncode == 0, third.stderr
        assert "resolved" not in third.stdout
        assert [r for r in gh.requests[requests:] if r.method != "GET"] == []


def test_serve_resolves_the_incident_of_a_check_removed_by_a_reload(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    db = tmp_path / "store.db"
    token = "journey-token-0123456789abcdef"
    serve = f'serve: {{port: 0, token: "{token}"}}'
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        config.write_text(_config(url, gh.url, with_api=True, serve=serve))
        proc = start_serve(config, port=0, cwd=tmp_path)
        try:
            port, _ = read_bound(proc)
            _wait("api's issue", lambda: len(gh.issues(REPO, "open")) == 1)
            [opened] = get(port, "/api/v1/incidents?status=open", token=token)["incidents"]
            assert opened["check"] == "api", opened
            _wait("api's series on /metrics", lambda: _series(port, token, "api") >= 2)

            config.write_text(_config(url, gh.url, with_api=False, serve=serve))
            proc.send_signal(signal.SIGHUP)
            _wait("api's issue to close", lambda: not gh.issues(REPO, "open"))
            _closed_with_reason(gh)
            assert get(port, "/api/v1/incidents?status=open", token=token)["incidents"] == []
            shown = get(port, f"/api/v1/incidents/{opened['id']}", token=token)
            assert shown["status"] == "resolved", shown
            assert shown["resolved_by"] == "config", shown
            # newcomer review 3 (item 3): /metrics kept the removed check's open incident
            # and its response-time histogram series
            _wait("api's series to leave /metrics", lambda: _series(port, token, "api") == 0)
            assert _series(port, token, "web") >= 1
            assert "prodshield_open_incidents_total 0.0" in get(port, "/metrics", token=token)
            page = get(port, "/")
            assert "Ongoing incidents" not in page, page
            assert "<h1>All systems operational</h1>" in page, page
        finally:
            _out, err = stop_serve(proc)
        assert proc.returncode == 0, err
    [(_, check, status, by, notes)] = _incidents(db)
    assert (check, status, by) == ("api", "resolved", "config")
    assert REASON in notes, notes
