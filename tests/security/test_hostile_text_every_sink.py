"""One hostile text through every sink prodshield writes to, as each sink's reader takes it.

Everything prodshield reads from production is hostile (docs/security.md): a log line, a target's
answer, an audited file's name. The same text (terminal escapes, BEL, NUL, a right-to-left
override, a lone surrogate, a disguised Markdown link, HTML, chat pings, a hidden marker, and
length) goes through each notifier over its wire format (the stand-ins of tests/support, a real
SMTP server), the CLI as a subprocess (the audit table and its Markdown, JSON and SARIF reports;
tests/journeys/test_journey_terminal_marks.py has the logs commands)
and an HTML page. In each: no raw control character survives, the text is still there with its
controls as visible marks (``␛[31m``, ``␇``, ``␀``, ``\\ufffd``), and nothing in it acts as
markup where it lands (a link, an image, a ping, a marker).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from prodshield.config.notifiers import (
    EmailNotifierConfig,
    SlackNotifierConfig,
    WebhookNotifierConfig,
)
from prodshield.notify.event import Event
from prodshield.notify.providers import DeliveryContext, build, github, slack
from prodshield.text import fence
from support.cli import prodshield, shell_env
from support.net import smtp_controller
from support.standins.paging import (
    PagingStandin,
)

CONTROLS = "\x1b[31mred\x1b[0m \x1b]0;pwned\x07 bell\x07 nul\x00 \u202eevil\u202c"
LINK = "[https://status.example](https://evil.example/login)"
MARKUP = "<img src=x onerror=alert(1)> <!channel> <@U123> @everyone <!-- prodshield:subject=x -->"
HOSTILE = f"{CONTROLS} {LINK} {MARKUP} lone\ud800 " + "long " * 800 + "end"
RAW = ("\x1b", "\x07", "\x00", "\u202e", "\u202c", "\ud800")
MARKED = "␛[31mred␛[0m ␛]0;pwned␇ bell␇ nul␀ \ufffdevil\ufffd"


def _event() -> Event:
    return Event(
        key="incident:9:opened",
        type="incident.opened",
        subject="incident:api-health:production",
        title=f"api-health is down: {HOSTILE}",
        body=f"the target answered: {HOSTILE}",
        severity="critical",
        fields={"check": "api-health", "error": HOSTILE, f"sample \x1b[31m {LINK}": "x"},
        url="http://127.0.0.1:8080/dashboard/checks/api-health",
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _shown(name: str, text: str) -> None:
    """What every sink owes: no raw control, the text still there with its marks."""
    assert not [c for c in RAW if c in text], (name, text[:2000])
    assert "␛[31mred" in text and "nul␀" in text and "\ufffdevil" in text, (name, text[:2000])


def _outside_code(markdown: str) -> str:
    """``markdown`` without its fenced blocks and code spans (where nothing is markup)."""
    markdown = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1`*$", "", markdown)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", markdown)


def _no_disguised_link(name: str, markdown: str) -> None:
    """No ``](`` of a link to the evil address that Markdown would read (escaped ``\\]`` or a
    zero-width space between them is text)."""
    assert not re.search(r"(?<!\\)\]\(https://evil", markdown), (name, markdown[:2000])


# --- notifiers, over their wire formats ----------------------------------------------------


@pytest.mark.parametrize("name", ["discord", "teams", "telegram", "ntfy", "pagerduty", "opsgenie"])
async def test_each_chat_and_paging_service_shows_the_text_inert(name: str) -> None:
    async with PagingStandin() as rx, aiohttp.ClientSession() as session:
        await build(rx.configs()[name]).send(_event(), DeliveryContext(session, "n", 1, 10.0))
        sent = [r for r in rx.requests if 200 <= r.status < 300]
        assert len(sent) == 1, [(r.status, r.body[:300]) for r in rx.requests]
        shown = "\n".join(_strings(sent[0].parsed or sent[0].json()))
    _shown(name, shown)
    if name in ("discord", "teams"):  # Markdown services
        _no_disguised_link(name, shown)
        assert "@everyone" not in shown, shown[:2000]
    if name == "telegram":  # the stand-in parses the HTML: only prodshield's own tags
        assert "<img" in shown and "onerror" in shown  # shown as typed, as text
    if name == "ntfy":
        assert sent[0].headers["Title"].isascii()


def test_slack_shows_the_text_inert() -> None:
    payload = slack.message(
        _event(), SlackNotifierConfig(type="slack", webhook_url="https://hooks.example/x")
    )
    _shown("slack", "\n".join(_strings(payload)))
    header = payload["blocks"][0]["text"]  # plain_text: Slack reads no markup in it
    assert header["type"] == "plain_text"
    mrkdwn = "\n".join(_strings([payload["text"], payload["blocks"][1:]]))
    assert not re.search(r"<[!@#]", mrkdwn), mrkdwn[:2000]  # no <!channel>, <@U123>
    assert "<img" not in mrkdwn and "<https://evil" not in mrkdwn


def test_a_github_issue_shows_the_text_inert() -> None:
    """Producers fence outside text in a body (`text.fence`); the fields are the notifier's."""
    body = github.render_body(replace(_event(), body=f"the target answered:\n{fence(HOSTILE)}"))
    _shown("github", body)
    _no_disguised_link("github", _outside_code(body))
    assert "@everyone" not in _outside_code(body) and "<!--" not in body


def test_an_email_shows_the_text_inert_in_its_subject_and_body() -> None:
    got: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(envelope.original_content)
            return "250 OK"

    controller = smtp_controller(Handler())
    controller.start()
    try:
        cfg = EmailNotifierConfig.model_validate(
            {
                "type": "email",
                "host": "127.0.0.1",
                "port": controller.port,
                "starttls": False,
                "from": "prodshield@example.com",
                "to": ["oncall@example.com"],
                "timeout": 5,
            }
        )
        asyncio.run(_send(cfg))
    finally:
        controller.stop()
    headers = got[0].split(b"\r\n\r\n")[0]
    assert headers.isascii() and len(re.findall(rb"(?m)^Subject:", headers)) == 1
    msg = message_from_bytes(got[0], policy=policy.default)
    assert isinstance(msg, EmailMessage)
    subject = str(msg["Subject"])
    assert subject.startswith("[prodshield] api-health is down: " + MARKED), subject
    _shown("email subject", subject)
    body = msg.get_content()
    _shown("email body", body)


async def _send(cfg: EmailNotifierConfig) -> None:
    async with aiohttp.ClientSession() as session:
        await build(cfg).send(_event(), DeliveryContext(session, "mail", 1, 10.0))


async def test_the_webhook_sends_the_text_as_data_a_strict_decoder_takes() -> None:
    """The webhook keeps the text as it is (the receiver escapes for its own sink), but as JSON
    that any decoder takes: no lone surrogate, which strict decoders refuse."""
    got: list[bytes] = []

    async def receive(request: web.Request) -> web.Response:
        got.append(await request.read())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            hook = WebhookNotifierConfig(type="webhook", url=f"http://127.0.0.1:{port}/hook")
            await build(hook).send(_event(), DeliveryContext(session, "w", 1, 10.0))
    finally:
        await runner.cleanup()
    body = got[0]
    data = json.loads(body.decode("utf-8", errors="strict"))
    text = json.dumps(data, ensure_ascii=False)
    text.encode()  # no lone surrogate left
    assert "\x1b[31mred" in data["event"]["body"] and "lone\ufffd" in data["event"]["body"]


# --- the CLI and its reports ---------------------------------------------------------------

NAME = f"{CONTROLS} [docs](evil.example) <img src=x> @everyone <!-- m --> |".replace("\x00", "")
"""A file name holds anything but NUL and ``/``."""


def _tree(root: Path) -> Path:
    repo = root / "shop"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / (NAME + os.fsdecode(b"\xff") + ".env")).write_text("PASSWORD=Zq8vLm2Rt9Xw4Kp7Nc3B\n")
    return repo


def _audit(repo: Path, *args: str) -> str:
    done = prodshield(repo, "audit", ".", *args, env=shell_env(COLUMNS="400", NO_COLOR="1"))
    assert done.returncode == 1 and "internal error" not in done.stderr, done.stdout + done.stderr
    return done.stdout


def test_the_audit_table_and_reports_show_a_hostile_file_name_inert(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    table = _audit(repo)
    assert not [c for c in RAW if c in table], table
    assert "␛[31mred" in table and "\ufffdevil" in table, table  # marks, as on a page
    markdown = _audit(repo, "--format", "markdown")  # a PR comment
    assert not [c for c in RAW if c in markdown], markdown
    cells = markdown.split("| --- | --- | --- | --- | --- |")[1]
    outside_code = _outside_code(cells)
    assert not re.search(r"(?<!\\)\]\(", outside_code), cells  # a link only as typed
    assert not re.search(r"(?<!\\)<img", outside_code), cells  # HTML too
    assert "@everyone" not in outside_code and "<!--" not in cells, cells
    assert "␛[31mred" in cells and "\ufffdevil" in cells, cells  # marks, in the code span too
    report = _audit(repo, "--format", "json")
    assert "\\u001b[31mred" in report  # the data stays the data, as JSON escapes
    finding = orjson.loads(report)["findings"][0]  # strict: no lone surrogate escape
    assert finding["path"].endswith("\ufffd.env") and finding["path_uri"].endswith("%FF.env")
    sarif = _audit(repo, "--format", "sarif")
    assert "%1B%5B31mred" in sarif and "\\ud" not in sarif.lower()  # a URI, percent-encoded
    json.loads(sarif)


# --- an HTML page --------------------------------------------------------------------------


LOG_TEXT = f"{CONTROLS} {LINK} {MARKUP}".replace("\x00", "")
"""A log line with a NUL is a binary line, skipped and counted."""


def test_the_digest_page_shows_a_hostile_log_line_inert(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    hour = datetime.now(UTC).strftime("%Y-%m-%d %H")  # the digest reads the last 24 hours
    log.write_text(
        "".join(f"{hour}:00:{n:02d},000 ERROR app.db: {LOG_TEXT} {n}\n" for n in range(3))
    )
    done = prodshield(tmp_path, "logs", "digest", str(log), "--format", "html")
    assert done.returncode in (0, 1), done.stderr
    page = done.stdout
    assert not [c for c in RAW if c in page], page[:2000]
    assert "pwned␇ bell␇" in page and "\ufffdevil\ufffd" in page  # numbers masked as <*>
    assert "<img" not in page and "<!-- prodshield" not in page
