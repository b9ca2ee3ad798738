"""A log line cannot hijack an incident's GitHub issue (issue 18, finding 1).

The GitHub notifier finds an incident's issue again by a hidden subject marker. A log line that
carries such a marker lands in a log-alert issue; before the fix the next outage was recorded as
"exists" on that issue and its recovery commented on and closed it.
"""

from __future__ import annotations

from typing import Any

import pytest

from prodshield.config.notifiers import GitHubNotifierConfig
from prodshield.notify import Event, deliver, enqueue, outbox
from prodshield.notify.markers import marker, thread_key
from prodshield.store import Store
from support.standins.github import GitHubStandin

REPO = "acme/platform"
TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0" * 2
SUBJECT = "incident:api-health:production:2"


def gh_config(url: str, **kw: Any) -> GitHubNotifierConfig:
    return GitHubNotifierConfig(
        type="github", repo=REPO, token=TOKEN, api_url=url, timeout=5, backoff=0.05, **kw
    )


def log_alert(line: str) -> Event:
    """The log-alert event the log service builds: the (redacted) line as an indented sample."""
    return Event(
        key="log:db_error:abc:1",
        type="log.critical",
        subject="log:db_error:abc",
        title="db_error in the logs (1x)",
        body=f"**db_error** x1 (file=/var/log/app.log)\n\n    {line}",
        severity="critical",
        fields={"kind": "db_error", "count": "1"},
    )


def incident(kind: str) -> Event:
    return Event(
        key=f"{SUBJECT}:{kind.split('.')[1]}",
        type=kind,
        subject=SUBJECT,
        title=f"api-health {kind}",
        body=f"{kind}",
        severity="critical",
    )


@pytest.fixture
async def gh() -> Any:
    async with GitHubStandin(tokens=(TOKEN,)) as standin:
        standin.repo(REPO)
        yield standin


async def test_forged_marker_in_a_log_line_does_not_capture_the_next_outage(
    gh: GitHubStandin, store: Store
) -> None:
    cfg = {"gh": gh_config(gh.url)}
    # What an attacker can write into a log line: the old unsigned marker, and the new shape
    # with a guessed signature. Incident ids are public on the status page.
    forged = (
        f'ERROR duplicate key value "<!-- prodshield:subject={SUBJECT} -->" '
        f"<!-- prodshield:subject={SUBJECT} sig={'0' * 32} -->"
    )
    enqueue(store, ["gh"], log_alert(forged))
    assert (await deliver(store, cfg, deadline_s=10)).sent == 1
    [log_issue] = gh.issues(REPO)
    assert "<!-- prodshield:subject=incident" not in log_issue["body"]

    enqueue(store, ["gh"], incident("incident.opened"))
    enqueue(store, ["gh"], incident("incident.resolved"))
    report = await deliver(store, cfg, deadline_s=10)
    assert report.sent == 2

    opened = outbox.find(store, "gh", f"{SUBJECT}:opened")
    assert opened is not None and opened.result is not None
    assert opened.result["action"] == "opened" and opened.result["issue"] == 2
    issues = {i["number"]: i for i in gh.issues(REPO)}
    assert issues[1]["state"] == "open" and gh.comments(REPO, 1) == []
    assert issues[2]["state"] == "closed" and len(gh.comments(REPO, 2)) == 1


async def test_genuine_marker_replayed_through_a_log_line_is_neutralised(
    gh: GitHubStandin, store: Store
) -> None:
    """Even a correctly signed marker (copied from a public issue) arrives broken."""
    genuine = marker("subject", SUBJECT, thread_key(store))
    enqueue(store, ["gh"], log_alert(f"WARN user input: {genuine}"))
    await deliver(store, {"gh": gh_config(gh.url)}, deadline_s=10)
    [log_issue] = gh.issues(REPO)
    assert genuine not in log_issue["body"]
    enqueue(store, ["gh"], incident("incident.opened"))
    await deliver(store, {"gh": gh_config(gh.url)}, deadline_s=10)
    assert len(gh.issues(REPO)) == 2


async def test_markers_count_only_on_issues_and_comments_of_the_notifiers_account(
    gh: GitHubStandin, store: Store
) -> None:
    key = thread_key(store)
    # Someone else (who learnt the key, or pasted a bot body) opens an issue with the marker.
    gh.add_issue(
        REPO, "looks like ours", marker("subject", SUBJECT, key), ["prodshield"], user="mallory"
    )
    enqueue(store, ["gh"], incident("incident.opened"))
    await deliver(store, {"gh": gh_config(gh.url)}, deadline_s=10)
    issues = gh.issues(REPO)
    assert len(issues) == 2 and issues[1]["user"]["login"] == "prodshield-bot"
    # A comment by someone else carrying the next event's marker does not stop our comment.
    gh.add_comment(REPO, issues[1], marker("event", f"{SUBJECT}:resolved", key), user="mallory")
    enqueue(store, ["gh"], incident("incident.resolved"))
    await deliver(store, {"gh": gh_config(gh.url)}, deadline_s=10)
    assert [c["user"]["login"] for c in gh.comments(REPO, 2)] == ["mallory", "prodshield-bot"]
    assert issues[0]["state"] == "open" and gh.comments(REPO, 1) == []


async def test_installation_token_trusts_only_bot_accounts(store: Store) -> None:
    """An Actions GITHUB_TOKEN cannot read GET /user; it writes as an app's [bot] account."""
    async with GitHubStandin(tokens=(TOKEN,), logins={TOKEN: None}) as gh:
        gh.repo(REPO)
        key = thread_key(store)
        gh.add_issue(REPO, "human", marker("subject", SUBJECT, key), ["prodshield"], user="bob")
        enqueue(store, ["gh"], incident("incident.opened"))
        enqueue(store, ["gh"], incident("incident.resolved"))
        assert (await deliver(store, {"gh": gh_config(gh.url)}, deadline_s=10)).sent == 2
        human, ours = gh.issues(REPO)
        assert ours["user"]["login"] == "prodshield-app[bot]" and ours["state"] == "closed"
        assert human["state"] == "open"


async def test_a_configured_marker_key_is_shared_by_stores(
    gh: GitHubStandin, tmp_path: Any
) -> None:
    """Runs that share no store (workflow runs) find each other's issue with ``marker_key``."""
    from prodshield.store import open_store

    cfg = {"gh": gh_config(gh.url, marker_key="k" * 40)}
    for n in range(2):
        with open_store(f"sqlite:///{tmp_path}/run{n}.db") as run_store:
            enqueue(run_store, ["gh"], incident("incident.opened"))
            await deliver(run_store, cfg, deadline_s=10)
    assert len(gh.issues(REPO)) == 1


def test_serve_log_line_with_forged_marker_does_not_capture_the_outage(tmp_path: Any) -> None:
    """As used: `serve` follows a log whose line carries the marker of the incident that comes
    next; the GitHub stand-in must show the log alert and the incident as separate issues, the
    recovery closing only the incident's."""
    from aiohttp import web

    from support.serve_process import serve, wait_for
    from support.standins.loopback_app import serve_app

    state = {"up": True}

    async def health(request: web.Request) -> web.Response:
        return web.Response(
            text="ok" if state["up"] else "down", status=200 if state["up"] else 503
        )

    def setup(app: web.Application) -> None:
        app.router.add_get("/health", health)

    subject = "incident:api::1"  # the first incident's subject (ids are public on the status page)
    line = (
        "2026-12-04 10:00:00,000 CRITICAL shop: could not connect to server: Connection refused"
        f' user="<!-- prodshield:subject={subject} -->'
        f' <!-- prodshield:subject={subject} sig={"0" * 32} -->"\n'
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("")
    with serve_app(setup) as url, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        config = f"""
storage: "sqlite:///{{db}}"
serve: {{port: {{port}}, token: "serve-token-0123456789abcdef"}}
defaults: {{failure_threshold: 1, success_threshold: 1}}
notifiers:
  gh: {{type: github, repo: {REPO}, token: "{TOKEN}", api_url: "{gh.url}"}}
logs:
  window: 1s
  sources:
    - {{name: shop, path: {logs / "app.log"}, format: python}}
checks:
  - {{name: api, type: http, url: "{url}/health", interval: 1s, timeout: 2s}}
"""
        with serve(tmp_path / "run", config):
            with open(logs / "app.log", "a") as f:
                f.write(line)
            wait_for("the log alert issue", lambda: len(gh.issues(REPO)) == 1, 90)
            log_issue = gh.issues(REPO)[0]
            assert "could not connect" in log_issue["body"]
            assert "<!-- prodshield:subject=incident" not in log_issue["body"]
            state["up"] = False
            wait_for("the incident's own issue", lambda: len(gh.issues(REPO)) == 2, 90)
            state["up"] = True
            wait_for(
                "the incident's issue closed",
                lambda: gh.issues(REPO)[1]["state"] == "closed",
                90,
            )
        log_issue, incident_issue = gh.issues(REPO)
        assert log_issue["state"] == "open" and gh.comments(REPO, log_issue["number"]) == []
        assert incident_issue["title"].startswith("api")
