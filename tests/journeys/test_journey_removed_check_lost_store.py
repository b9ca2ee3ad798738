"""Journey: `monitor once` in a workflow keeps its SQLite store in the Actions cache. A check fails
and its incident opens a GitHub issue; then the check leaves shield.yaml and the cache is evicted
(7 days unused). The next run starts from an empty store: it knew no incident to resolve, so the
issue stayed open forever. Now the run asks GitHub for the open issues prodshield wrote (every
page), and closes the one whose check shield.yaml no longer has, with a comment saying why, once.
It leaves alone what it cannot prove is its own incident of a removed check: a marker signed with
another key, an issue written by another account, the issue of a check still configured, a
manual incident's issue. Without `marker_key` a fresh store cannot recognise any earlier issue, and
nothing is closed (docs/monitor.md says so)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from aiohttp import web

from prodshield.notify.event import Event
from prodshield.notify.providers.github import render_body, subject_marker
from support.cli import prodshield, wide_env
from support.standins.github import GitHubStandin
from support.standins.loopback_app import serve_app

TOKEN = "ghp_" + "L" * 36
REPO = "acme/platform"
MARKER_KEY = "journey-marker-key-0123456789abcdef"
REASON = "check removed from shield.yaml"


def _setup(app: web.Application) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(text="database down", status=503)

    app.router.add_get("/ok", ok)
    app.router.add_get("/broken", broken)


def _config(url: str, gh: str, *, with_api: bool, marker_key: bool = True) -> str:
    key = f', marker_key: "{MARKER_KEY}"' if marker_key else ""
    api = f"  - {{name: api, type: http, url: '{url}/broken', interval: 1s}}\n"
    return textwrap.dedent(
        f"""\
            storage: sqlite:///store.db
            defaults: {{failure_threshold: 1}}
            notifiers:
              gh: {{type: github, repo: {REPO}, token: "{TOKEN}", api_url: "{gh}"{key}}}
            checks:
              - {{name: web, type: http, url: '{url}/ok', interval: 1s}}
            """
    ) + (api if with_api else "")


def _lose_store(folder: Path) -> None:
    """The cache entry is gone: the next run starts from no store at all."""
    for name in ("store.db", "store.db-wal", "store.db-shm"):
        (folder / name).unlink(missing_ok=True)


def _issue_body(subject: str, kind: str, key: str) -> str:
    """An issue body as prodshield writes one (fields table, signed subject marker)."""
    check = subject.split(":")[1]
    event = Event(
        key=f"{subject}:opened",
        type="incident.opened",
        subject=subject,
        title=f"{check} is down",
        body=f"**{check}** is down.",
        fields={"check": check, "environment": "(none)", "kind": kind},
    )
    return render_body(event) + "\n\n" + subject_marker(subject, key.encode())


def _comments(gh: GitHubStandin, number: int) -> list[str]:
    return [str(c["body"]) for c in gh.comments(REPO, number)]


def test_a_fresh_store_closes_the_issue_of_a_removed_check(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    # two issues a page: the run must follow the Link header to find its issue (the oldest)
    with (
        serve_app(_setup) as url,
        GitHubStandin.in_thread(tokens=(TOKEN,), max_per_page=2) as gh,
    ):
        gh.repo(REPO)
        config.write_text(_config(url, gh.url, with_api=True))
        first = prodshield(tmp_path, "monitor", "once", "--notify-wait", "20s", env=wide_env())
        assert first.returncode == 1, first.stdout + first.stderr
        [opened] = gh.issues(REPO, "open")
        assert opened["title"] == "api is down", opened
        assert opened["number"] == 1

        label = ["prodshield"]
        # issues it must leave open, each of a check shield.yaml does not have but `web`'s
        forged = gh.add_issue(
            REPO, "gone is down", _issue_body("incident:gone:", "down", "not-the-key"), label
        )
        foreign = gh.add_issue(
            REPO, "old is down", _issue_body("incident:old:", "down", MARKER_KEY), label,
            user="mallory",
        )  # fmt: skip
        configured = gh.add_issue(
            REPO, "web is down", _issue_body("incident:web:", "down", MARKER_KEY), label
        )
        manual = gh.add_issue(
            REPO, "payments outage", _issue_body("incident:payments:", "manual", MARKER_KEY), label
        )
        kept = [forged, foreign, configured, manual]

        _lose_store(tmp_path)
        config.write_text(_config(url, gh.url, with_api=False))
        second = prodshield(tmp_path, "monitor", "once", "--notify-wait", "20s", env=wide_env())
        assert second.returncode == 0, second.stdout + second.stderr
        assert f"issue #1 closed (gh): api: {REASON}" in second.stdout, second.stdout
        [closed] = [i for i in gh.issues(REPO) if i["number"] == 1]
        assert closed["state"] == "closed", closed
        [said] = _comments(gh, 1)
        assert REASON in said, said
        assert "**api** is no longer checked" in said, said
        assert [i["number"] for i in gh.issues(REPO, "open")] == [k["number"] for k in kept]
        assert all(_comments(gh, k["number"]) == [] for k in kept)
        listed = [r for r in gh.requests if r.method == "GET" and r.path.endswith("/issues")]
        assert any(r.query.get("page") == "3" for r in listed), [r.query for r in listed]

        # once: the next run (its store lost again) writes nothing more
        _lose_store(tmp_path)
        before = len(gh.requests)
        third = prodshield(tmp_path, "monitor", "once", "--notify-wait", "5s", env=wide_env())
        assert third.returncode == 0, third.stdout + third.stderr
        assert "closed" not in third.stdout, third.stdout
        assert [r for r in gh.requests[before:] if r.method != "GET"] == []
        assert len(_comments(gh, 1)) == 1


def test_without_marker_key_a_fresh_store_closes_nothing(tmp_path: Path) -> None:
    """The documented limit: the store's own key went with the store, so no issue proves to be
    prodshield's and none is closed."""
    config = tmp_path / "shield.yaml"
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        config.write_text(_config(url, gh.url, with_api=True, marker_key=False))
        first = prodshield(tmp_path, "monitor", "once", "--notify-wait", "20s", env=wide_env())
        assert first.returncode == 1, first.stdout + first.stderr
        assert len(gh.issues(REPO, "open")) == 1

        _lose_store(tmp_path)
        config.write_text(_config(url, gh.url, with_api=False, marker_key=False))
        second = prodshield(tmp_path, "monitor", "once", "--notify-wait", "20s", env=wide_env())
        assert second.returncode == 0, second.stdout + second.stderr
        assert "closed" not in second.stdout, second.stdout
        assert len(gh.issues(REPO, "open")) == 1
        assert [r for r in gh.requests if r.method not in ("GET", "POST")] == []


def test_a_disabled_notifier_closes_no_issue(tmp_path: Path) -> None:
    """A disabled notifier is sent nothing (docs/config.md): `monitor once` from a fresh store
    closed the issue of a removed check through it anyway (adopting already skipped it). Now it
    asks GitHub nothing through it; enabled again, it closes the issue."""
    config = tmp_path / "shield.yaml"
    with serve_app(_setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        gone = gh.add_issue(
            REPO, "api is down", _issue_body("incident:api:", "down", MARKER_KEY), ["prodshield"]
        )
        off = _config(url, gh.url, with_api=False).replace(
            "marker_key:", "enabled: false, marker_key:"
        )
        config.write_text(off)
        run = prodshield(tmp_path, "monitor", "once", "--notify-wait", "5s", env=wide_env())
        assert run.returncode == 0, run.stdout + run.stderr
        assert "closed" not in run.stdout, run.stdout
        assert [i["number"] for i in gh.issues(REPO, "open")] == [gone["number"]]
        assert _comments(gh, gone["number"]) == []
        assert gh.requests == [], [(r.method, r.path) for r in gh.requests]

        config.write_text(_config(url, gh.url, with_api=False))
        run = prodshield(tmp_path, "monitor", "once", "--notify-wait", "5s", env=wide_env())
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"issue #{gone['number']} closed (gh): api: {REASON}" in run.stdout, run.stdout
        assert gh.issues(REPO, "open") == []
