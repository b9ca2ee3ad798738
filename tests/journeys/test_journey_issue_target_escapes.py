"""Journey: a target answers its health check with terminal escapes (ANSI colours, a title escape
ended by BEL: a log tail, a misconfigured proxy, or a hostile upstream). ``monitor once`` (CLI as a
subprocess) opens a GitHub issue (the loopback stand-in) that quotes the answer with each control
character shown as its visible mark (``␛``), as the dashboard shows it: raw, they reached the
terminal of whoever read the issue with ``gh issue view``."""

from __future__ import annotations

import textwrap
from pathlib import Path

from aiohttp import web

from support.cli import prodshield, wide_env
from support.standins.github import GitHubStandin
from support.standins.loopback_app import serve_app

ANSWER = "\x1b[31mdatabase down\x1b[0m \x1b]0;owned\x07 retry\x08 later"
CONTROLS = ("\x1b", "\x07", "\x08")


def test_an_issue_quotes_a_targets_escapes_as_marks(tmp_path: Path) -> None:
    async def health(request: web.Request) -> web.Response:
        return web.Response(text=ANSWER, status=503)

    def setup(app: web.Application) -> None:
        app.router.add_get("/health", health)

    token = "ghp_" + "F" * 36
    with serve_app(setup) as url, GitHubStandin.in_thread(tokens=(token,)) as gh:
        gh.repo("acme/platform")
        (tmp_path / "shield.yaml").write_text(
            textwrap.dedent(
                f"""\
                storage: sqlite:///{tmp_path}/state.db
                defaults: {{failure_threshold: 1}}
                notifiers:
                  gh: {{type: github, repo: acme/platform, token: "{token}", api_url: "{gh.url}"}}
                checks:
                  - name: api
                    type: http
                    url: {url}/health
                    conditions: ["[STATUS] == 200", "[BODY] == ok"]
                """
            )
        )
        out = prodshield(tmp_path, "monitor", "once", "--notify-wait", "20s", env=wide_env())
        assert out.returncode == 1, out.stderr
        [issue] = gh.issues("acme/platform")
    body, title = issue["body"], issue["title"]
    assert not [c for c in CONTROLS if c in body or c in title], repr(body)
    assert "␛[31mdatabase down␛[0m ␛]0;owned␇ retry␈ later" in body, body
    assert title == "api is down", title
