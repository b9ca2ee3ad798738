"""Fuzzed renderers: whatever outside text an event or a page quotes, the output keeps its shape.

Properties (docs/security.md): GitHub bodies carry no ``<!--`` from outside and no live
``@mention``; a fence or code span holds any text without being closed early; Slack text has no
control sequence (``<!channel>``, ``<url|label>``) but prodshield's own link; email headers stay
one line; a webhook body is the event as JSON data; the terminal sanitiser leaves no escape or
control character; redaction masks a password whatever surrounds it; HTML pages (status page,
dashboard, the Markdown panel, the digest page) never emit outside text unescaped.
"""

from __future__ import annotations

import json
import re
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from prodshield.config.notifiers import EmailNotifierConfig, SlackNotifierConfig
from prodshield.notify.event import Event
from prodshield.notify.providers.email import build_message
from prodshield.notify.providers.github import render_body
from prodshield.notify.providers.slack import message as slack_message
from prodshield.secrets.redaction import redact_text
from prodshield.text import (
    code_span,
    fence,
    for_terminal,
    neutralise_mentions,
    slack_escape,
)
from support.fuzz import FUZZ, few

PIECES = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<@U024BE7LH>",
        "<http://evil.example|docs>",
        "@octocat",
        "@org/team",
        "`",
        "``",
        "```",
        "````",
        "~~~",
        "<!-- prodshield:subject=incident:api:1 sig=" + "0" * 32 + " -->",
        "<!--",
        "-->",
        "\x1b]0;title\x07",
        "\x1b[2J",
        "\x9b31m",
        "\x1b]52;c;Zm9v\x07",
        "[red]x[/red]",
        "&",
        "&amp;",
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[link](javascript:alert(1))",
        "|",
        "\n",
        "\r\n",
        "\t",
        "*bold*",
        "password=Hunter2-x",
        " ",
        "é漢🙂",
    ]
)
HOSTILE = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=12).map("".join)

_MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_PAGE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What a page may not carry (carriage returns may stay): each is shown as a mark instead."""


def _event(title: str, body: str, value: str, **kw: Any) -> Event:
    return Event(
        key="k1",
        type="log.critical",
        subject="log:x",
        title=title or "t",
        body=body,
        fields={"sample": value},
        **kw,
    )


@FUZZ
@given(HOSTILE)
def test_fence_holds_any_text(text: str) -> None:
    block = fence(text)
    opening, _, rest = block.partition("\n")
    bar = opening.removesuffix("text")
    assert set(bar) == {"`"} and len(bar) >= 3
    inner, _, closing = rest.rpartition("\n")
    assert closing == bar and inner == text.rstrip("\n")
    # No line inside could close the fence (a closing fence is at least as long as the bar).
    assert all(not line.strip().startswith(bar) for line in inner.split("\n"))


@FUZZ
@given(HOSTILE)
def test_code_span_holds_any_text(text: str) -> None:
    span = code_span(text)
    if not text.strip("\r\n"):
        return
    bar = re.match(r"`+", span)
    assert bar is not None and span.endswith(bar.group(0))
    inner = span[len(bar.group(0)) : -len(bar.group(0))]
    assert "\n" not in inner
    assert all(len(run) != len(bar.group(0)) for run in re.findall(r"`+", inner))


@FUZZ
@given(HOSTILE)
def test_terminal_sanitiser_leaves_no_control_character(text: str) -> None:
    out = for_terminal(text)
    assert not _CONTROL.search(out) and "\x1b" not in out
    assert for_terminal(out) == out
    if not _CONTROL.search(text):
        assert out == text


@FUZZ
@given(HOSTILE.filter(lambda s: "`" not in s and "~~~" not in s))
def test_github_body_has_no_marker_and_no_live_mention(text: str) -> None:
    body = render_body(_event("t", text, "v"))
    assert "<!--" not in body
    assert not _MENTION.search(body)
    assert not _MENTION.search(neutralise_mentions(text))


@FUZZ
@given(HOSTILE, HOSTILE, HOSTILE)
def test_github_body_keeps_field_values_in_code(title: str, body: str, value: str) -> None:
    out = render_body(_event(title, body, value))
    assert "<!--" not in out
    row = next(line for line in out.split("\n") if line.startswith("| sample |"))
    assert row.endswith(" |") and "\n" not in row


@FUZZ
@given(HOSTILE, HOSTILE, HOSTILE)
def test_slack_payload_has_no_control_sequence_from_outside(
    title: str, body: str, value: str
) -> None:
    url = "https://status.example/dashboard?check=a&b=1"
    payload = slack_message(
        _event(title, body, value, url=url),
        SlackNotifierConfig(type="slack", webhook_url="https://hooks.slack.com/services/T/B/x"),
    )
    json.dumps(payload)
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if block["type"] == "section":
            texts += [block["text"]["text"]] if "text" in block else []
            texts += [f["text"] for f in block.get("fields", [])]
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
    own_link = f"<{slack_escape(url)}|dashboard>"
    for text in texts:
        rest = text.replace(own_link, "")
        assert "<" not in rest and ">" not in rest
        assert re.sub(r"&(amp|lt|gt);", "", rest).count("&") == 0


@FUZZ
@given(HOSTILE, HOSTILE)
def test_email_headers_stay_one_line(title: str, body: str) -> None:
    config = EmailNotifierConfig.model_validate(
        {"type": "email", "host": "smtp.example", "from": "a@example.com", "to": ["b@example.com"]}
    )
    msg = build_message(_event(title, body, "v"), config)
    raw = msg.as_bytes()
    parsed = message_from_bytes(raw)
    assert parsed["To"] == "b@example.com"
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert len(parsed.get_all("Subject") or []) == 1


@FUZZ
@given(HOSTILE, HOSTILE)
def test_webhook_body_is_the_event_as_data(title: str, body: str) -> None:
    event = _event(title, body, body)
    data = json.loads(json.dumps({"event": event.to_dict(), "attempt": 1}))
    assert Event.from_dict(data["event"]) == event


@FUZZ
@given(
    HOSTILE,
    HOSTILE,
    st.from_regex(r"[A-Za-z0-9!#%+\-]{8,24}", fullmatch=True),
    st.sampled_from(["password={}", '"password": "{}"', "redis://:{}@cache", "Cookie: sid={}"]),
)
def test_redaction_masks_a_password_whatever_surrounds_it(
    before: str, after: str, secret: str, shape: str
) -> None:
    assume(secret not in before + after)
    text = f"{before} {shape.format(secret)} {after}"
    assert secret not in redact_text(text)


# --- HTML pages ------------------------------------------------------------------------------

TAG = "<b id=pwned>"


@FUZZ
@given(HOSTILE)
def test_markdown_panel_passes_no_raw_html(text: str) -> None:
    from prodshield.web.markdown import markdown_html

    html = str(markdown_html(f"{text}\n\n{TAG}\n\n{text}"))
    assert TAG not in html and "<script" not in html and "<img" not in html
    assert 'href="javascript:' not in html.lower()


@FUZZ
@given(HOSTILE)
def test_digest_page_escapes_log_text(text: str) -> None:
    from prodshield.logs.api import parse_lines
    from prodshield.logs.digest import build_digest, render_html
    from prodshield.logs.formats.registry import get_format
    from prodshield.logs.scan import scan_events

    line = for_terminal(text).replace("\n", " ")
    events = parse_lines(
        [f"2026-12-04 10:00:0{n},000 ERROR app: {TAG} {line}" for n in range(2)],
        "app.log",
        get_format("python"),
    )
    html = render_html(build_digest(scan_events(events), title="Log digest"))
    assert TAG not in html and "<script" not in html


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A seeded store whose results, findings and audit rows quote hostile text, served by the
    real app (module scope: pages are rendered many times, the store is built once)."""
    from starlette.testclient import TestClient

    from prodshield.store import open_store
    from prodshield.store import tables as t
    from prodshield.web import create_app
    from support.web_seed import TOKEN, loaded_config, seed

    tmp = Path(tmp_path_factory.mktemp("hostile-site"))
    store = open_store(f"sqlite:///{tmp / 'store.db'}")
    seed(store)
    app = create_app(loaded_config(tmp), store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        # Sign in through the form, as a browser does (the dashboard wants a session).
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        r = client.post(
            "/login",
            data={"token": TOKEN, "csrf": csrf.group(1), "next": "/dashboard"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        yield store, t, client, {}
    store.close()


PAGES = (
    "/",
    "/dashboard",
    "/dashboard/checks/website?environment=staging",
    "/dashboard/incidents",
    "/dashboard/logs",
    "/dashboard/audit",
    "/dashboard/notifications",
)


@few(20)
@given(HOSTILE)
def test_pages_never_emit_outside_text_unescaped(hostile_site: Any, text: str) -> None:
    store, t, client, auth = hostile_site
    quoted = f"{TAG}{text}"
    import time

    now = time.time()
    with store.begin() as conn:
        conn.execute(
            t.check_results.insert().values(
                check_name="website",
                environment="staging",
                ts=now,
                ok=False,
                error_kind="protocol",
                error_message=quoted,
                conditions=[{"expr": "[BODY] == ok", "ok": False, "actual": quoted}],
            )
        )
        conn.execute(
            t.log_findings.insert().values(
                fingerprint=f"fp-{now}",
                category="critical",
                kind="db_down",
                severity="critical",
                count=1,
                first_seen=now,
                last_seen=now,
                source={"file": quoted, "detail": quoted},
                samples=[quoted],
                details={"template": quoted},
                message=quoted,
                created_at=now,
            )
        )
    shown = []
    for page in PAGES:
        r = client.get(page, headers=auth, follow_redirects=False)
        assert r.status_code == 200, page
        assert TAG not in r.text, page
        assert "<script>alert" not in r.text and "<img src=x" not in r.text, page
        assert not _PAGE_CONTROL.search(r.text), page  # shown as marks (␛, ␁, \ufffd)
        if "&lt;b id=pwned&gt;" in r.text:
            shown.append(page)
    assert {"/dashboard/logs", "/dashboard/checks/website?environment=staging"} <= set(shown), shown
