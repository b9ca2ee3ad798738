"""Journey: `monitor once` in a workflow keeps its SQLite store in the Actions cache, which can be
evicted. A check still in shield.yaml fails and its incident opens a GitHub issue; then the cache
is lost. The next runs start from an empty store that knows no open incident, so a passing check
closed nothing and the issue stayed open until the check's next outage. Now the first run of a
store adopts the open issue prodshield wrote (signed marker, its own account, a check's incident,
not a manual one) as an open incident of that check: `success_threshold` passing runs close it
with the usual recovery comment, and a failure continues it instead of opening another one."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from aiohttp import web

from prodshield.notify.event import Event
from prodshield.notify.providers.github import render_body, subject_marker
from support.cli import prodshield, wide_env
from support.standins.github import GitHubStandin
from support.standins.loopback_app import serve_app

TOKEN = "ghp_" + "A" * 36
REPO = "acme/platform"
MARKER_KEY = "journey-adopt-key-0123456789abcdef"


def _setup(app: web.Application) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(text="database down", status=503)

    app.router.add_get("/ok", ok)
    app.router.add_get("/broken", broken)


def _config(url: str, gh: str, path: str) -> str:
    return textwrap.dedent(
        f"""\
            storage: sqlite:///store.db
            defaults: {{failure_threshold: 1, success_threshold: 2}}
            environments:
              production: {{}}
            notifiers:
              gh: {{type: github, repo: {REPO}, token: "{TOKEN}", api_url: "{gh}", marker_key: "{MARKER_KEY}"}}
            checks:
              - {{name: api, type: http, url: '{url}{path}', interval: 1s, environments: [production]}}
            """
    )


def _lose_store(folder: Path) -> None:
    """The cache entry is gone: the next run starts from no store at all."""
    for name in ("store.db", "store.db-wal", "store.db-shm"):
        (folder / name).unlink(missing_ok=True)


def _once(folder: Path) -> dict[str, Any]:
    run = prodshield(
        folder, "monitor", "once", "--format", "json", "--notify-wait", "20s", env=wide_env()
    )
    assert run.returncode in (0, 1), run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def _comments(gh: GitHubStandin, number: int) -> list[str]:
    return [str(c["body"]) for c in gh.comments(REPO, number)]


def test_a_lost_store_closes_the_issue_when_the_check_passes(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        config.write_text(_config(url, gh.url, "/broken"))
        first = _once(tmp_path)
        assert [i["check"] for i in first["incidents"]["opened"]] == ["api"], first
        [issue] = gh.issues(REPO, "open")
        assert issue["title"] == "[production] api is down", issue

        _lose_store(tmp_path)
        config.write_text(_config(url, gh.url, "/ok"))  # the API is back
        second = _once(tmp_path)
        assert second["adopted_issues"] == [
            {
                "notifier": "gh",
                "issue": issue["number"],
                "incident": 1,
                "check": "api",
                "environment": "production",
                "kind": "down",
            }
        ], second
        assert gh.issues(REPO, "open") != [], "one success of two: still open"
        third = _once(tmp_path)
        assert third["adopted_issues"] == [], third  # once per store
        assert [i["id"] for i in third["incidents"]["resolved"]] == [1], third
        [closed] = gh.issues(REPO)
        assert closed["state"] == "closed", closed
        [said] = _comments(gh, closed["number"])
        assert "**api** recovered in **production** after" in said, said

        # the next outage opens a new issue (the old one is closed): never two open at once
        config.write_text(_config(url, gh.url, "/broken"))
        _once(tmp_path)
        assert [i["number"] for i in gh.issues(REPO, "open")] == [2]


def test_a_lost_store_continues_the_issue_when_the_check_still_fails(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        config.write_text(_config(url, gh.url, "/broken"))
        _once(tmp_path)
        [issue] = gh.issues(REPO, "open")

        _lose_store(tmp_path)
        second = _once(tmp_path)  # still failing: the adopted incident goes on
        assert [a["issue"] for a in second["adopted_issues"]] == [issue["number"]], second
        assert second["incidents"]["opened"] == [], second
        assert second["notifications"]["sent"] == 0, second  # nothing new to say
        config.write_text(_config(url, gh.url, "/ok"))
        _once(tmp_path)
        last = _once(tmp_path)
        assert [i["id"] for i in last["incidents"]["resolved"]] == [1], last
        assert len(gh.issues(REPO)) == 1, "no second issue"
        [closed] = gh.issues(REPO)
        assert closed["state"] == "closed", closed


def _issue_body(subject: str, kind: str, key: str) -> str:
    """An issue body as prodshield writes one (fields table, signed subject marker)."""
    check = subject.split(":")[1]
    event = Event(
        key=f"{subject}:opened",
        type="incident.opened",
        subject=subject,
        title=f"{check} is down",
        body=f"**{check}** is down.",
        fields={"check": check, "environment": "production", "kind": kind},
    )
    return render_body(event) + "\n\n" + subject_marker(subject, key.encode())


def test_only_its_own_incident_issues_are_adopted(tmp_path: Path) -> None:
    """A marker signed with another key, an issue by another account, a manual incident's issue:
    none is adopted, none is touched."""
    config = tmp_path / "shield.yaml"
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        label = ["prodshield"]
        subject = "incident:api:production"
        gh.add_issue(REPO, "forged", _issue_body(subject, "down", "not-the-key"), label)
        gh.add_issue(
            REPO, "foreign", _issue_body(subject, "down", MARKER_KEY), label, user="mallory"
        )
        gh.add_issue(REPO, "manual", _issue_body(subject, "manual", MARKER_KEY), label)
        config.write_text(_config(url, gh.url, "/ok"))
        for _ in range(3):
            assert _once(tmp_path)["adopted_issues"] == []
        assert len(gh.issues(REPO, "open")) == 3
        assert all(_comments(gh, n) == [] for n in (1, 2, 3))
