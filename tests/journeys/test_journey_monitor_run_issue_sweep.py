"""Journey: `prodshield monitor run` (the long-running path) starts from a store that lost the
incidents of earlier runs (a new machine, a wiped volume, a workflow's evicted cache). At start-up,
beside its first checks, it now does what `monitor once` does: the open GitHub issue of a check
removed from shield.yaml is closed with a comment saying why, and the open issue of a check still
configured is adopted as an open incident, so the check's passing results close it with the usual
recovery comment. GitHub answering 500 costs one line on stderr, never a traceback nor the
checks: the next start looks again."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

from aiohttp import web

from prodshield.notify.event import Event
from prodshield.notify.providers.github import render_body, subject_marker
from support.cli import prodshield, wide_env
from support.serve import TOKEN as SERVE_TOKEN
from support.serve import read_bound, start_serve, stop_serve, wait_ready
from support.standins.github import GitHubStandin
from support.standins.loopback_app import serve_app

TOKEN = "ghp_" + "R" * 36
REPO = "acme/platform"
MARKER_KEY = "journey-run-sweep-key-0123456789abcdef"


def _setup(app: web.Application) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/ok", ok)


def _config(url: str, gh: str) -> str:
    return textwrap.dedent(
        f"""\
            storage: sqlite:///store.db
            defaults: {{failure_threshold: 1, success_threshold: 2}}
            notifiers:
              gh: {{type: github, repo: {REPO}, token: "{TOKEN}", api_url: "{gh}", marker_key: "{MARKER_KEY}"}}
            checks:
              - {{name: api, type: http, url: '{url}/ok', interval: 1s}}
            """
    )


def _issue_body(subject: str, kind: str) -> str:
    """An issue body as prodshield writes one (fields table, signed subject marker)."""
    check = subject.split(":")[1]
    event = Event(
        key=f"{subject}:opened",
        type="incident.opened",
        subject=subject,
        title=f"{check} is down",
        body=f"**{check}** is down.",
        fields={"check": check, "environment": "(none)", "kind": kind, "error": "timeout: 10 s"},
    )
    return render_body(event) + "\n\n" + subject_marker(subject, MARKER_KEY.encode())


def _issues(gh: GitHubStandin) -> None:
    """What a lost store left open: the issue of `api` (still configured), of `gone` (removed)."""
    gh.repo(REPO)
    label = ["prodshield"]
    gh.add_issue(REPO, "api is down", _issue_body("incident:api:", "down"), label)
    gh.add_issue(REPO, "gone is down", _issue_body("incident:gone:", "down"), label)


def _run(folder: Path, seconds: int) -> tuple[str, str]:
    run = prodshield(folder, "monitor", "run", "--duration", f"{seconds}s", env=wide_env())
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    return run.stdout, run.stderr


def test_monitor_run_closes_and_adopts_at_start_up(tmp_path: Path) -> None:
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        _issues(gh)
        (tmp_path / "shield.yaml").write_text(_config(url, gh.url))
        _, err = _run(tmp_path, 5)
        assert "issue #2 closed (gh): gone: check removed from shield.yaml" in err, err
        assert "issue #1 adopted (gh) as incident #1: api down (its store was lost)" in err, err
        assert [i["state"] for i in gh.issues(REPO)] == ["closed", "closed"]
        [removed] = gh.comments(REPO, 2)
        assert "**gone** is no longer checked" in removed["body"], removed
        [recovered] = gh.comments(REPO, 1)
        assert "**api** recovered after" in recovered["body"], recovered

        # once per store: the next start asks only for what removed checks left open
        before = len(gh.requests)
        _, err = _run(tmp_path, 2)
        assert "adopted" not in err and "closed (gh)" not in err, err
        assert [r for r in gh.requests[before:] if r.method != "GET"] == []


def test_a_github_error_at_start_up_is_one_line_and_retried_next_start(tmp_path: Path) -> None:
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        _issues(gh)
        (tmp_path / "shield.yaml").write_text(_config(url, gh.url))
        gh.fail("GET", r"/issues$", 500, body={"message": "Server Error"}, times=2)
        _, err = _run(tmp_path, 3)
        lines = [line for line in err.splitlines() if "500" in line]
        assert lines == [
            "issues of removed checks not looked for: gh: GitHub GET "
            f"/repos/{REPO}/issues: 500 Server Error",
            "open issues not looked at (tried again at the next start): gh: GitHub GET "
            f"/repos/{REPO}/issues: 500 Server Error",
        ], err
        assert "stopped: " in err and " (0 failed)" in err, err  # the checks ran all along
        assert [i["state"] for i in gh.issues(REPO)] == ["open", "open"]

        _, err = _run(tmp_path, 5)  # GitHub is back: the next start does it
        assert "issue #1 adopted (gh)" in err and "issue #2 closed (gh)" in err, err
        assert [i["state"] for i in gh.issues(REPO)] == ["closed", "closed"]


def test_serve_closes_and_adopts_at_start_up(tmp_path: Path) -> None:
    """`prodshield serve` does the same at start-up, logged one line each."""
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        _issues(gh)
        config = tmp_path / "shield.yaml"
        config.write_text(_config(url, gh.url) + f'serve: {{token: "{SERVE_TOKEN}"}}\n')
        proc = start_serve(config, port=0, cwd=tmp_path)
        try:
            port, _ = read_bound(proc)
            wait_ready(port, proc)
            deadline = time.time() + 60
            while time.time() < deadline:
                if [i["state"] for i in gh.issues(REPO)] == ["closed", "closed"]:
                    break
                time.sleep(0.3)
        finally:
            _, err = stop_serve(proc, timeout=30)
        assert proc.returncode == 0, err[-2000:]
        assert [i["state"] for i in gh.issues(REPO)] == ["closed", "closed"], err[-2000:]
        assert "issue #2 closed (gh): gone: check removed from shield.yaml" in err, err
        assert "issue #1 adopted (gh) as incident #1: api down" in err, err
        [recovered] = gh.comments(REPO, 1)
        assert "**api** recovered after" in recovered["body"], recovered
        assert "Traceback" not in err, err
