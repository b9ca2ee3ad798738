"""The GitHub notifier against the REST API stand-in, through the real outbox on both backends."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from prodshield.config.notifiers import GitHubNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify import Event, deliver, enqueue, outbox
from prodshield.notify.markers import thread_key
from prodshield.notify.providers import DeliveryContext
from prodshield.notify.providers.github import GitHubNotifier, event_marker, subject_marker
from prodshield.store import Store, open_store
from support.standins.github import GitHubStandin

REPO = "acme/platform"
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2
SUBJECT = "incident:api-health:production"
SCRIPTS = Path(__file__).resolve().parents[1] / "support" / "scripts"


def gh_config(url: str, **kw: Any) -> GitHubNotifierConfig:
    values: dict[str, Any] = {
        "type": "github",
        "repo": REPO,
        "token": TOKEN,
        "api_url": url,
        "labels": ["incident"],
        "timeout": 5,
        "backoff": 0.05,
        "max_backoff": 0.2,
    }
    values.update(kw)
    return GitHubNotifierConfig(**values)


def event(kind: str, key: str, subject: str = SUBJECT, **kw: Any) -> Event:
    return Event(
        key=key,
        type=kind,
        subject=subject,
        title=kw.pop("title", f"api-health {kind}"),
        body=kw.pop("body", f"{kind} body"),
        severity=kw.pop("severity", "high"),
        fields=kw.pop("fields", {"check": "api-health", "environment": "production"}),
        **kw,
    )


@pytest.fixture
async def gh() -> Any:
    async with GitHubStandin(tokens=(TOKEN,)) as standin:
        standin.repo(REPO)
        yield standin


async def test_incident_lifecycle_opens_comments_and_closes_one_issue(
    gh: GitHubStandin, store: Store
) -> None:
    cfg = {"gh": gh_config(gh.url)}
    enqueue(store, ["gh"], event("incident.opened", "inc-1:opened", labels=["sev:high"]))
    enqueue(store, ["gh"], event("incident.updated", "inc-1:update-1"))
    enqueue(store, ["gh"], event("incident.reminder", "inc-1:reminder-1"))
    enqueue(store, ["gh"], event("incident.resolved", "inc-1:resolved"))
    report = await deliver(store, cfg, deadline_s=10)
    assert report.sent == 4 and report.pending == 0

    issues = gh.issues(REPO)
    assert len(issues) == 1
    issue = issues[0]
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    assert {lb["name"] for lb in issue["labels"]} == {"prodshield", "incident", "sev:high"}
    key = thread_key(store)
    assert subject_marker(SUBJECT, key) in issue["body"]
    assert "| check | `api-health` |" in issue["body"]
    bodies = [c["body"] for c in gh.comments(REPO, 1)]
    assert len(bodies) == 3
    for event_key, body in zip(
        ("inc-1:update-1", "inc-1:reminder-1", "inc-1:resolved"), bodies, strict=True
    ):
        assert event_marker(event_key, thread_key(store)) in body
    results = [outbox.find(store, "gh", k) for k in ("inc-1:opened", "inc-1:resolved")]
    assert results[0] is not None and results[0].result == {
        "issue": 1,
        "url": f"https://github.com/{REPO}/issues/1",
        "action": "opened",
    }
    assert results[1] is not None and results[1].result is not None
    assert results[1].result["action"] == "commented+closed"
    # Every request succeeded and spoke the documented REST dialect.
    assert all(r.status < 400 for r in gh.requests)
    for r in gh.requests:
        assert r.headers["Authorization"] == f"Bearer {TOKEN}"
        assert r.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert r.headers["Accept"] == "application/vnd.github+json"

    # A new incident on the same subject after the close opens a new issue.
    enqueue(store, ["gh"], event("incident.opened", "inc-2:opened"))
    await deliver(store, cfg, deadline_s=10)
    assert [i["state"] for i in gh.issues(REPO)] == ["closed", "open"]


async def test_existing_issue_found_across_pages_and_duplicates_skipped(
    store: Store,
) -> None:
    async with GitHubStandin(tokens=(TOKEN,), max_per_page=2) as gh:
        gh.repo(REPO)
        key = thread_key(store)
        # Our open issue is the oldest of seven labelled ones, so it is on the last page
        # (newest first, two per page).
        gh.add_issue(
            REPO, "ours", f"opened earlier\n\n{subject_marker(SUBJECT, key)}", ["prodshield"]
        )
        for n in range(6):
            gh.add_issue(REPO, f"other {n}", subject_marker(f"other:{n}", key), ["prodshield"])
        gh.add_issue(REPO, "no label, same marker", subject_marker(SUBJECT, key), [])
        issue = gh.issues(REPO)[0]
        # Three earlier comments, the last one already carrying this event's marker.
        for n in range(2):
            gh.add_comment(REPO, issue, f"older comment {n}")
        gh.add_comment(REPO, issue, f"done before a crash\n{event_marker('inc:upd', key)}")

        cfg = {"gh": gh_config(gh.url)}
        enqueue(store, ["gh"], event("incident.opened", "inc:opened"))
        enqueue(store, ["gh"], event("incident.updated", "inc:upd"))
        report = await deliver(store, cfg, deadline_s=10)
        assert report.sent == 2
        assert len(gh.issues(REPO)) == 8  # nothing created
        assert len(gh.comments(REPO, 1)) == 3  # nothing added
        opened = outbox.find(store, "gh", "inc:opened")
        updated = outbox.find(store, "gh", "inc:upd")
        assert opened is not None and opened.result is not None
        assert opened.result["issue"] == 1 and opened.result["action"] == "exists"
        assert updated is not None and updated.result is not None
        assert updated.result["action"] == "already-commented"
        # The listing really was paged: page 4 of labelled open issues, page 2 of comments.
        pages = [r.query.get("page") for r in gh.requests if r.path.endswith("/issues")]
        assert "4" in pages
        comment_pages = [r.query.get("page") for r in gh.requests if r.path.endswith("/comments")]
        assert comment_pages == [None, "2"]
        assert all(r.query.get("labels", "prodshield") == "prodshield" for r in gh.requests)


async def test_alert_without_open_issue_starts_a_thread_and_resolve_without_one_is_noop(
    gh: GitHubStandin, store: Store
) -> None:
    cfg = {"gh": gh_config(gh.url)}
    enqueue(store, ["gh"], event("log.critical", "log:db-down:1", subject="log:db-down"))
    enqueue(store, ["gh"], event("incident.resolved", "other:resolved", subject="incident:x"))
    report = await deliver(store, cfg, deadline_s=10)
    assert report.sent == 2
    [issue] = gh.issues(REPO)
    assert event_marker("log:db-down:1", thread_key(store)) in issue["body"]
    row = outbox.find(store, "gh", "other:resolved")
    assert row is not None and row.result is not None and row.result["action"] == "none"


async def test_error_answers_are_classified() -> None:
    async with GitHubStandin(tokens=(TOKEN,)) as gh, aiohttp.ClientSession() as session:
        gh.repo(REPO)
        ctx = DeliveryContext(session, "gh", 1, 5.0, b"k" * 32)

        bad = GitHubNotifier(gh_config(gh.url, token="ghp_" + "x" * 36))
        with pytest.raises(NotifyError) as err:
            await bad.send(event("incident.opened", "k1"), ctx)
        assert err.value.permanent and "token is invalid" in str(err.value)
        assert "x" * 36 not in str(err.value)

        good = GitHubNotifier(gh_config(gh.url))
        gh.fail(
            "POST",
            r"/issues$",
            422,
            body={
                "message": "Validation Failed",
                "errors": [{"resource": "Label", "code": "invalid", "field": "name"}],
            },
        )
        with pytest.raises(NotifyError) as err:
            await good.send(event("incident.opened", "k2"), ctx)
        assert err.value.permanent and "422 Validation Failed" in str(err.value)

        missing = GitHubNotifier(gh_config(gh.url, repo="acme/nope"))
        with pytest.raises(NotifyError) as err:
            await missing.send(event("incident.opened", "k3"), ctx)
        assert err.value.permanent and "acme/nope not found" in str(err.value)

        gh.fail("GET", r"/issues$", 403, body={"message": "Resource not accessible by integration"})
        with pytest.raises(NotifyError) as err:
            await good.send(event("incident.opened", "k4"), ctx)
        assert err.value.permanent and "lacks permission" in str(err.value)

        gh.fail(
            "GET",
            r"/issues$",
            403,
            body={"message": "You have exceeded a secondary rate limit"},
            headers={"retry-after": "42"},
        )
        with pytest.raises(NotifyError) as err:
            await good.send(event("incident.opened", "k5"), ctx)
        assert not err.value.permanent and err.value.retry_after == 42

        gh.fail("GET", r"/issues$", 503)
        with pytest.raises(NotifyError) as err:
            await good.send(event("incident.opened", "k6"), ctx)
        assert not err.value.permanent

        # Connection refused: retryable, and the message names no URL.
        closed = GitHubNotifier(gh_config("http://127.0.0.1:9"))
        with pytest.raises(NotifyError) as err:
            await closed.send(event("incident.opened", "k7"), ctx)
        assert not err.value.permanent and "cannot connect" in str(err.value)
        assert gh.issues(REPO) == []


async def test_rate_limit_then_502_then_created_once(gh: GitHubStandin, store: Store) -> None:
    cfg = {"gh": gh_config(gh.url, max_attempts=5)}
    gh.rate_limited("GET", r"/repos/acme/platform/issues$", reset_in=1.5)
    reset_at = float(gh.script[-1].headers["x-ratelimit-reset"])
    gh.fail("POST", r"/repos/acme/platform/issues$", 502, body={"message": "Server Error"})
    enqueue(store, ["gh"], event("incident.opened", "rl:opened"))

    first = await deliver(store, cfg, deadline_s=0.3)
    assert [o.status for o in first.outcomes] == ["retry"]
    assert first.pending == 1
    row = outbox.find(store, "gh", "rl:opened")
    assert row is not None and row.attempts == 1 and row.lease_owner is None
    assert row.next_attempt_at >= reset_at  # not before the rate limit resets
    assert "rate limited" in (row.last_error or "")
    assert gh.issues(REPO) == []

    second = await deliver(store, cfg, deadline_s=15)
    assert [o.status for o in second.outcomes] == ["retry", "sent"]  # the 502, then success
    assert len(gh.issues(REPO)) == 1
    row = outbox.find(store, "gh", "rl:opened")
    assert row is not None and row.status == "sent" and row.attempts == 3
    assert row.last_error is None
    lists = [r for r in gh.requests if r.method == "GET" and r.path.endswith("/issues")]
    assert lists[0].status == 403
    assert all(r.at >= reset_at for r in lists[1:])
    posts = [r.status for r in gh.requests if r.method == "POST"]
    assert posts == [502, 201]


async def test_retry_budget_ends_dead_and_visible_in_status(
    gh: GitHubStandin, store: Store, store_url: str, tmp_path: Path
) -> None:
    # A proxy in front of GitHub that echoes the Authorization header in its error page.
    gh.fail("GET", r"/issues$", 502, body={"message": f"bad gateway (Bearer {TOKEN})"}, times=10)
    cfg = {"gh": gh_config(gh.url, max_attempts=3)}
    enqueue(store, ["gh"], event("incident.opened", "dead:opened"))
    report = await deliver(store, cfg, deadline_s=10)
    assert [o.status for o in report.outcomes] == ["retry", "retry", "dead"]
    row = outbox.find(store, "gh", "dead:opened")
    assert row is not None and row.status == "dead" and row.attempts == 3
    assert row.last_error is not None and row.last_error.startswith("gave up after 3 attempts")
    assert TOKEN not in row.last_error and "ghp_…[" in row.last_error
    assert gh.count("GET", r"/issues$") == 3

    # Dead rows are never claimed again.
    again = await deliver(store, cfg, deadline_s=0.5)
    assert again.outcomes == [] and gh.count("GET", r"/issues$") == 3

    config = tmp_path / "shield.yaml"
    config.write_text(
        f'storage: "{store_url}"\nnotifiers:\n  gh:\n    type: github\n    repo: {REPO}\n'
        f'    token: "${{GITHUB_TOKEN}}"\n    api_url: "{gh.url}"\n'
    )
    env = {"GITHUB_TOKEN": TOKEN, "NO_COLOR": "1", "COLUMNS": "200"}
    result = await cli(["notify", "status", "-c", str(config), "--format", "json"], env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"] == {"pending": 0, "sent": 0, "dead": 1}
    [dead] = data["dead"]
    assert dead["key"] == "dead:opened" and dead["attempts"] == 3
    assert "bad gateway" in dead["last_error"] and TOKEN not in result.stdout

    result = await cli(["notify", "status", "-c", str(config)], env)
    text = result.stdout
    assert result.exit_code == 0 and "0 pending" in text and "1 dead" in text
    assert "gave up after 3 attempts" in text and TOKEN not in text

    # retry ID: a fresh budget, delivered now that the API answers again.
    gh.script.clear()
    result = await cli(["notify", "retry", str(row.id), "-c", str(config)], env)
    assert result.exit_code == 0, result.output
    assert "sent to gh" in result.stdout
    assert len(gh.issues(REPO)) == 1
    row = outbox.find(store, "gh", "dead:opened")
    assert row is not None and row.status == "sent"


async def cli(args: list[str], env: dict[str, str]) -> Any:
    """Run the CLI in a thread (its delivery runs an event loop of its own) while this
    test's loop keeps serving the stand-in."""
    from typer.testing import CliRunner

    from prodshield.cli.main import app

    return await asyncio.to_thread(CliRunner().invoke, app, args, env=env)


async def test_worker_killed_after_issue_created_sends_exactly_once(
    gh: GitHubStandin, store: Store, store_url: str
) -> None:
    """SIGKILL the worker process after GitHub created the issue but before the outbox row is
    marked sent; a fresh worker must find the issue by its marker, not open a second one."""
    gh.hang_after("POST", r"^/repos/acme/platform/issues$")
    enqueue(store, ["gh"], event("incident.opened", "crash:opened"))
    env = {**os.environ, "GITHUB_TOKEN": TOKEN}
    script = str(SCRIPTS / "notify_worker.py")
    lease = 4.0
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        script,
        store_url,
        gh.url,
        "--lease",
        str(lease),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        end = time.monotonic() + 30
        while not gh.issues(REPO):
            assert worker.returncode is None, "worker ended before creating the issue"
            assert time.monotonic() < end, "worker never created the issue"
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
    finally:
        if worker.returncode is None:
            worker.kill()
        await worker.wait()
    # -SIGKILL; asyncio reports 255 when its child watcher finds the pid already reaped (seen
    # once on a loaded machine). Either way the rows below prove it died before recording.
    assert worker.returncode in (-signal.SIGKILL, 255)

    row = outbox.find(store, "gh", "crash:opened")
    assert row is not None and row.status == "pending" and row.attempts == 1
    assert row.lease_owner is not None  # it died holding the lease, the send unrecorded
    assert len(gh.issues(REPO)) == 1
    gh.release()

    # A fresh worker (another owner) takes the row over once the dead worker's lease expires.
    report = await deliver(store, {"gh": gh_config(gh.url)}, deadline_s=20, lease_s=lease)
    assert report.sent == 1 and report.pending == 0
    assert time.time() >= (row.lease_until or 0)

    assert len(gh.issues(REPO)) == 1
    assert gh.count("POST", r"/issues$") == 1
    row = outbox.find(store, "gh", "crash:opened")
    assert row is not None and row.status == "sent" and row.attempts == 2
    assert row.result == {
        "issue": 1,
        "url": f"https://github.com/{REPO}/issues/1",
        "action": "exists",
    }


def test_standin_usable_from_synchronous_code(tmp_path: Path) -> None:
    """Later tests (incidents) drive the stand-in from a thread; the outbox path works too."""
    with GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        store = open_store(f"sqlite:///{tmp_path / 's.db'}")
        try:
            from prodshield.notify import deliver_pending

            enqueue(store, ["gh"], event("incident.opened", "sync:opened"))
            report = deliver_pending(store, {"gh": gh_config(gh.url)}, deadline_s=10)
        finally:
            store.close()
        assert report.sent == 1 and len(gh.issues(REPO)) == 1
