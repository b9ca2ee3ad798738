"""Hostile text from a target or a log line, through every notifier, as each service would take it.

A target's answer and a log line are attacker-controlled (docs/security.md) and reach notifications
as an incident's error or a finding's sample. For each notifier: terminal escapes and control
characters arrive as visible marks (``␛[31m``), never raw; what the service would turn into a ping
or a disguised link shows as typed; and a 5 MB answer is cut to what the service takes (its
stand-in refuses what the real one refuses) instead of being refused and dead-lettered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from typing import Any

import aiohttp
import pytest

from prodshield.config.notifiers import (
    DiscordNotifierConfig,
    EmailNotifierConfig,
    NtfyNotifierConfig,
    OpsgenieNotifierConfig,
    PagerDutyNotifierConfig,
    SlackNotifierConfig,
)
from prodshield.notify.event import Event
from prodshield.notify.providers import (
    DeliveryContext,
    build,
    discord,
    email,
    github,
    ntfy,
    opsgenie,
    pagerduty,
    slack,
    teams,
    telegram,
)
from prodshield.notify.providers.base import TRIGGER
from support.standins.paging import (
    PD_KEY,
    PagingStandin,
)

ESCAPES = "\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \u202eevil\u202c nul\x01"
LINK = "[https://status.example](https://evil.example/login)"
HOSTILE = f"{ESCAPES} @everyone <@123> <!channel> {LINK}"
RAW = ("\x1b", "\x07", "\x01", "\u202e", "\u202c")


def hostile_event(body: str = HOSTILE, value: str = HOSTILE) -> Event:
    return Event(
        key="incident:9:opened",
        type="incident.opened",
        subject="incident:api-health:production",
        title=f"api-health is down: {ESCAPES}",
        body=f"the target answered: {body}",
        severity="critical",
        fields={"check": "api-health", "error": value},
        url="http://127.0.0.1:8080/dashboard/checks/api-health",
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _email(ev: Event) -> list[str]:
    cfg = EmailNotifierConfig.model_validate(
        {"type": "email", "host": "smtp.example", "from": "a@example.com", "to": ["b@example.com"]}
    )
    sent = email.build_message(ev, cfg).as_bytes()
    assert sent.split(b"\n\n")[0].isascii(), sent  # RFC 2047 encoded words in the headers
    msg = message_from_bytes(sent, policy=policy.default)  # as a mail reader decodes it
    assert isinstance(msg, EmailMessage)
    return [str(msg["Subject"]), msg.get_content()]


def _ntfy(ev: Event) -> list[str]:
    """The title as ntfy shows it (its RFC 2047 encoded word decoded), then the message."""
    headers, body = ntfy.request(ev, NtfyNotifierConfig(type="ntfy", topic="ops"))
    return [_decoded(headers["Title"]), body.decode()]


def _decoded(header: str) -> str:
    return str(make_header(decode_header(header)))


RENDERERS: dict[str, Callable[[Event], list[str]]] = {
    "slack": lambda ev: _strings(
        slack.message(ev, SlackNotifierConfig(type="slack", webhook_url="https://h.example/x"))
    ),
    "discord": lambda ev: _strings(
        discord.message(ev, DiscordNotifierConfig(type="discord", webhook_url="https://d/1/t"))
    ),
    "teams": lambda ev: _strings(teams.card(ev)),
    "telegram": lambda ev: [telegram.text(ev)],
    "ntfy": _ntfy,
    "email": _email,
    "pagerduty": lambda ev: _strings(
        pagerduty.event_body(
            ev, PagerDutyNotifierConfig(type="pagerduty", routing_key=PD_KEY), TRIGGER, "k"
        )
    ),
    "opsgenie": lambda ev: _strings(
        opsgenie.create_body(ev, OpsgenieNotifierConfig(type="opsgenie", api_key="k"), "a")
    ),
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_control_characters_from_a_target_arrive_as_visible_marks(name: str) -> None:
    texts = RENDERERS[name](hostile_event())
    joined = "\n".join(texts)
    assert not any(c in joined for c in RAW), (name, joined)
    assert "␛[31mred" in joined, (name, joined)
    if name == "email":  # the subject too, though a header is one line
        assert texts[0] == (
            "[prodshield] api-health is down: ␛[31mred␛[0m ␛]0;pwned␇ \ufffdevil\ufffd nul␁"
        )


def test_an_email_subject_shaped_like_an_encoded_word_stays_that_text() -> None:
    """``=?UTF-8?B?Gw==?=`` is an ESC once decoded: the email package writes ASCII text as it
    is, so the reader would decode the target's text into a raw escape; it arrives as typed."""
    smuggled = "=?UTF-8?B?Gw==?=[2J"
    subject = _email(replace(hostile_event(), title=f"down: {smuggled}"))[0]
    assert "\x1b" not in subject
    assert subject == f"[prodshield] down: {smuggled}"


async def test_the_ntfy_title_shows_control_characters_as_marks() -> None:
    """A title carries the target's escapes as marks, like the message; and outside text shaped
    like an RFC 2047 encoded word (``=?UTF-8?B?Gw==?=`` is an ESC) stays that text instead of
    being decoded by ntfy into the raw escape it hides, in a title that is otherwise ASCII too."""
    smuggled = "=?UTF-8?B?Gw==?=[2J"
    titles = [f"api-health is down: {ESCAPES}", f"api-health is down: {smuggled}"]
    async with PagingStandin() as rx, aiohttp.ClientSession() as session:
        notifier = build(NtfyNotifierConfig(type="ntfy", server=rx.url, topic="ops"))
        for title in titles:
            ev = replace(hostile_event(), title=title)
            await notifier.send(ev, DeliveryContext(session, "n", 1, 10.0))
        sent = rx.of("ntfy")
    assert [r.parsed["title"] for r in sent if r.parsed] == [
        "api-health is down: ␛[31mred␛[0m ␛]0;pwned␇ \ufffdevil\ufffd nul␁",
        f"api-health is down: {smuggled}",
    ]
    assert all(r.headers["Title"].isascii() for r in sent)


@pytest.mark.parametrize("name", ["discord", "teams"])
def test_a_markdown_link_from_outside_shows_where_it_goes(name: str) -> None:
    joined = "\n".join(RENDERERS[name](hostile_event()))
    assert "](https://evil.example" not in joined
    assert "[https://status.example]\u200b(https://evil.example/login)" in joined


def test_slack_and_telegram_keep_outside_markup_as_text() -> None:
    slack_text = "\n".join(RENDERERS["slack"](hostile_event()))
    assert "<!channel>" not in slack_text and "<@123>" not in slack_text
    tg = RENDERERS["telegram"](hostile_event())[0]
    assert "<a href" not in tg.replace('<a href="http://127.0.0.1:8080/', "")


# --- a 5 MB answer, through each service's stand-in ------------------------------------------

HUGE = "漢" * 5_000_000  # 5 M characters, 15 MB in UTF-8: every cut is counted in the right unit


@pytest.mark.parametrize("name", ["discord", "teams", "telegram", "ntfy", "pagerduty", "opsgenie"])
async def test_a_five_megabyte_answer_is_cut_to_what_the_service_takes(name: str) -> None:
    ev = Event(
        key="incident:9:opened",
        type="incident.opened",
        subject="incident:api-health:production",
        title="api-health is down",
        body=HUGE,
        severity="critical",
        fields={f"sample {i}": HUGE[:5000] for i in range(25)},
    )
    async with PagingStandin() as rx, aiohttp.ClientSession() as session:
        result = await build(rx.configs()[name]).send(ev, DeliveryContext(session, "n", 1, 10.0))
        assert result, name
        sent = [r for r in rx.requests if 200 <= r.status < 300]
        assert sent, [(r.status, r.body[:200]) for r in rx.requests]
        assert "漢" * 20 in json.dumps(sent[0].parsed or sent[0].json(), ensure_ascii=False)


def test_a_file_name_that_is_not_utf8_reaches_every_notifier_as_a_replacement_mark() -> None:
    """An audited file's name with a byte that is not UTF-8 is ``\\udcff`` in Python; a JSON
    answer may carry ``\\ud800``. Neither can be encoded: the event could not be made (redaction
    encodes) or each service's payload failed to encode, so the notification was lost."""
    name = "conf/\udcffsecret\ud800.env"
    ev = replace(hostile_event(), title=f"audit: {name}", body=name, fields={name: name})
    for render in RENDERERS.values():
        joined = "\n".join(render(ev))
        assert "\ufffdsecret\ufffd.env" in joined
        joined.encode()
    joined = github.render_body(ev) + webhook_body(ev)
    assert joined.encode() and "\ufffdsecret\ufffd.env" in joined


def webhook_body(ev: Event) -> str:
    return json.dumps(ev.to_dict(), ensure_ascii=False)


def test_field_names_show_control_characters_as_marks() -> None:
    ev = replace(hostile_event(), fields={f"sample {ESCAPES}": "x"})
    for name, render in RENDERERS.items():
        joined = "\n".join(render(ev))
        assert not any(c in joined for c in RAW), (name, joined)
