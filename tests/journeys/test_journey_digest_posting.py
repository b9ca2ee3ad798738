"""Journey: ``prodshield logs digest --post`` as a user runs it every day, against the GitHub API
stand-in: ``--post github`` finds the one notifier of that type whatever its name; each day's
digest opens its issue and closes the one before it (a comment names the new one), so digests
never pile up; a repeated post (a rerun that lost its store) opens nothing; an ambiguous or
unknown ``--post`` is one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from prodshield.notify.markers import marker
from support.net import http_server
from support.standins.github import GitHubStandin

REPO = "acme/shop"
TOKEN = "digest-journey-token"
MARKER_KEY = "digest-journey-marker-key"
ACCESS = "".join(
    f'203.0.113.5 - - [04/Dec/2026:06:10:{s:02d} +0000] "GET /api/checkout HTTP/1.1" 503 12 "-" "shop"\n'
    for s in range(20)
)


def config(tmp_path: Path, url: str, store: str, notifiers: str | None = None) -> Path:
    path = tmp_path / "shield.yaml"
    path.write_text(
        "version: 1\n"
        f'storage: "sqlite:///{tmp_path / store}"\n'
        "notifiers:\n"
        + (
            notifiers
            or (
                "  ops-issues:\n"
                "    type: github\n"
                f"    repo: {REPO}\n"
                '    token: "${GH_TOKEN}"\n'
                f"    api_url: {url}\n"
                f"    marker_key: {MARKER_KEY}\n"
                "  chat:\n"
                "    type: webhook\n"
                "    url: http://127.0.0.1:9/hook\n"
            )
        )
    )
    return path


def digest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")}
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "logs", "digest", "access.log", *args],
        cwd=tmp_path,
        env={**env, "GH_TOKEN": TOKEN, "NO_COLOR": "1", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def github() -> Iterator[GitHubStandin]:
    with GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        yield gh


def test_each_days_digest_replaces_the_one_before(tmp_path: Path, github: GitHubStandin) -> None:
    (tmp_path / "access.log").write_text(ACCESS)
    key = MARKER_KEY.encode()
    # yesterday's digest issue, as prodshield posted it (its thread and event markers)
    yesterday = github.add_issue(
        REPO,
        "Log digest 2026-12-03",
        "# Log digest\n\n"
        + marker("subject", "log-digest", key)
        + "\n"
        + marker("event", "digest:2026-12-03", key),
        ["prodshield"],
    )
    # the notifier is called ops-issues: `--post github` finds it by its type
    config(tmp_path, github.url, "day2.db")
    done = digest(tmp_path, "--post", "github", "--output", "digest.md")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "digest posted to ops-issues", done.stderr
    issues = sorted(github.issues(REPO), key=lambda i: i["number"])
    assert [i["state"] for i in issues] == ["closed", "open"], issues
    today = issues[1]
    assert today["title"].startswith("Log digest 2") and "/api/checkout" in today["body"]
    (note,) = github.comments(REPO, yesterday["number"])
    assert f"#{today['number']}" in note["body"]

    # the same day again from the same store: it says the day's digest is posted, sends nothing
    # (it said "queued for ops-issues, not delivered yet" with nothing queued)
    requests = len(github.requests)
    same = digest(tmp_path, "--post", "github", "--output", "digest.md")
    assert same.returncode == 0, same.stderr
    last = same.stderr.splitlines()[-1]
    assert last.startswith(
        f"digest not posted: ops-issues already has the digest of {today['title'][11:]} (posted at "
    ), same.stderr
    assert last.endswith(" UTC; one a day)"), last
    assert len(github.requests) == requests

    # the same day again from a store that lost the first post: nothing new, nothing closed
    config(tmp_path, github.url, "rerun.db")
    again = digest(tmp_path, "--post", "ops-issues", "--output", "digest.md")
    assert again.returncode == 0, again.stderr
    assert [i["state"] for i in sorted(github.issues(REPO), key=lambda i: i["number"])] == [
        "closed",
        "open",
    ]
    assert github.count("POST", rf"^/repos/{REPO}/issues$") == 1
    assert github.comments(REPO, today["number"]) == []


def test_post_names_a_notifier_or_says_in_one_line_why_not(
    tmp_path: Path, github: GitHubStandin
) -> None:
    (tmp_path / "access.log").write_text(ACCESS)
    two = (
        "".join(
            f"  {name}:\n    type: github\n    repo: {REPO}\n    token: x\n    api_url: {github.url}\n"
            for name in ("ops", "security")
        )
        + "  chat:\n    type: webhook\n    url: http://127.0.0.1:9/hook\n"
    )
    config(tmp_path, github.url, "s.db", two)
    ambiguous = digest(tmp_path, "--post", "github", "--output", "digest.md")
    assert ambiguous.returncode == 2
    assert ambiguous.stderr.strip().splitlines()[-1] == (
        "error: --post github: 2 notifiers of type github in shield.yaml (ops, security); name one"
    ), ambiguous.stderr
    assert not (tmp_path / "digest.md").exists()  # said before any work
    unknown = digest(tmp_path, "--post", "slack", "--output", "digest.md")
    assert unknown.returncode == 2
    last = unknown.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --post slack: no notifier of that name or type"), last
    assert "ops (github), security (github), chat (webhook)" in last
    assert "Traceback" not in ambiguous.stderr + unknown.stderr
    assert github.issues(REPO) == []


class _Hook(BaseHTTPRequestHandler):
    answer = 200

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.answer)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Gone(_Hook):
    answer = 404


@pytest.mark.parametrize(
    ("handler", "said"),
    [
        (_Hook, "digest posted to chat"),
        (_Gone, "digest not posted to chat: "),
    ],
    ids=["delivered", "refused"],
)
def test_post_to_a_webhook_says_what_became_of_it_in_words(
    tmp_path: Path, handler: type[_Hook], said: str
) -> None:
    (tmp_path / "access.log").write_text(ACCESS)
    with http_server(handler) as port:
        hook = f"  chat:\n    type: webhook\n    url: http://127.0.0.1:{port}/hook\n"
        config(tmp_path, "", "hook.db", notifiers=hook)
        done = digest(tmp_path, "--post", "chat", "--output", "digest.md")
    assert done.returncode == 0, done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith(said), done.stderr
    assert "Outcome(" not in done.stderr and "DeliveryReport" not in done.stderr
    if handler is _Gone:
        assert "404" in last and "gave up after 1 attempt" in last, last
        assert "prodshield notify retry" in last
