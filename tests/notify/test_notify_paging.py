"""The paging and chat notifiers against stand-ins that speak each service's wire format."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from prodshield.config.notifiers import (
    DiscordNotifierConfig,
    NtfyNotifierConfig,
    OpsgenieNotifierConfig,
    PagerDutyNotifierConfig,
    TeamsNotifierConfig,
    TelegramNotifierConfig,
)
from prodshield.errors import NotifyError
from prodshield.notify import Event, deliver, enqueue, outbox
from prodshield.notify.providers import DeliveryContext, build
from prodshield.store import Store
from support.standins.paging import (
    DISCORD_TOKEN,
    NTFY_TOKEN,
    OPSGENIE_KEY,
    PD_KEY,
    PROTECTED_TOPIC,
    TEAMS_PATH,
    TELEGRAM_CHAT,
    TELEGRAM_TOKEN,
    PagingStandin,
)

SUBJECT = "incident:api-health:production"
HOSTILE = "@everyone <b>boom</b> & <@123> <!channel> [docs](http://evil.example)"


def event(kind: str = "opened", key: str | None = None, **kw: Any) -> Event:
    base: dict[str, Any] = {
        "key": key or f"incident:7:{kind}",
        "type": f"incident.{kind}",
        "subject": SUBJECT,
        "title": "[production] api-health is down",
        "body": "3 checks failed: `[STATUS] == 200` got 503",
        "severity": "critical" if kind == "opened" else "info",
        "fields": {"check": "api-health", "environment": "production", "kind": "down"},
        "url": "http://127.0.0.1:8080/dashboard/checks/api-health",
    }
    base.update(kw)
    return Event(**base)


def fast(**kw: Any) -> dict[str, Any]:
    """Retry settings that let a test see a Retry-After win over the backoff."""
    return {"backoff": 0.05, "max_backoff": 0.1, **kw}


async def send(cfg: Any, ev: Event) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        return await build(cfg).send(ev, DeliveryContext(session, "n", 1, 5.0))


async def failure(cfg: Any, ev: Event) -> NotifyError:
    with pytest.raises(NotifyError) as err:
        await send(cfg, ev)
    return err.value


async def retried_after(
    store: Store, rx: PagingStandin, service: str, cfg: Any, seconds: float
) -> float:
    """Deliver one event through the outbox while ``service`` is rate limited once: the gap
    between the refused request and the accepted one."""
    rx.rate_limit(service, seconds)
    enqueue(store, ["n"], event())
    report = await deliver(store, {"n": cfg}, deadline_s=30)
    assert report.sent == 1, report
    first, second = rx.of(service)[-2:]
    assert first.status == 429 or service == "teams"
    assert 200 <= second.status < 300
    return second.at - first.at


# --- pagerduty --------------------------------------------------------------------------------


def pd(rx: PagingStandin, **kw: Any) -> PagerDutyNotifierConfig:
    return PagerDutyNotifierConfig(type="pagerduty", routing_key=PD_KEY, url=rx.pagerduty_url, **kw)


async def test_pagerduty_trigger_acknowledge_resolve_share_the_dedup_key() -> None:
    async with PagingStandin() as rx:
        cfg = pd(rx)
        got = await send(cfg, event("opened"))
        assert got == {"dedup_key": SUBJECT, "action": "trigger"}
        await send(cfg, event("reminder", key="incident:7:reminder:1"))  # folded in, no new page
        await send(cfg, event("acknowledged"))
        await send(cfg, event("note"))  # not a PagerDuty action: nothing is sent
        await send(cfg, event("resolved"))
        [alert] = rx.pagerduty.values()
        assert alert.key == SUBJECT and alert.count == 2
        assert alert.actions == ["trigger", "trigger", "acknowledge", "resolve"]
        assert alert.status == "resolved"
        trigger = rx.of("pagerduty")[0].json()
        assert trigger["routing_key"] == PD_KEY and trigger["event_action"] == "trigger"
        payload = trigger["payload"]
        assert payload["summary"] == "[production] api-health is down"
        assert payload["severity"] == "critical" and payload["source"] == "api-health"
        assert payload["component"] == "api-health" and payload["group"] == "production"
        assert payload["custom_details"]["details"].startswith("3 checks failed")
        assert trigger["links"][0]["href"].endswith("/dashboard/checks/api-health")
        resolve = rx.of("pagerduty")[-1].json()
        assert resolve == {"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": SUBJECT}


async def test_pagerduty_errors_are_classified_and_the_key_never_shown() -> None:
    async with PagingStandin() as rx:
        wrong = PagerDutyNotifierConfig(
            type="pagerduty", routing_key="W" * 32, url=rx.pagerduty_url
        )
        err = await failure(wrong, event())
        assert err.permanent and "Invalid routing key" in str(err)
        rx.rate_limit("pagerduty", 3)
        err = await failure(pd(rx), event())
        assert not err.permanent and err.retry_after == 3
        assert "arriving too quickly" in str(err)
        rx.fail("pagerduty", 403, {"status": "forbidden", "message": "Forbidden"})
        err = await failure(pd(rx), event())
        assert err.permanent and "credentials refused" in str(err)
        rx.fail("pagerduty", 502, "<html>bad gateway</html>")
        assert not (await failure(pd(rx), event())).permanent
        assert build(pd(rx)).secrets() == [PD_KEY]


async def test_pagerduty_429_through_the_outbox_waits_the_indicated_delay(store: Store) -> None:
    async with PagingStandin() as rx:
        gap = await retried_after(store, rx, "pagerduty", pd(rx, **fast()), 1)
        assert gap >= 0.95


async def test_pagerduty_dead_at_once_on_a_refused_key(store: Store) -> None:
    async with PagingStandin() as rx:
        cfg = PagerDutyNotifierConfig(
            type="pagerduty", routing_key="W" * 32, url=rx.pagerduty_url, **fast()
        )
        enqueue(store, ["n"], event())
        report = await deliver(store, {"n": cfg}, deadline_s=10)
        assert report.sent == 0 and len(rx.of("pagerduty")) == 1
        [row] = outbox.status(store).dead
        assert "Invalid routing key" in (row.last_error or "") and "W" * 32 not in (
            row.last_error or ""
        )


# --- ntfy -------------------------------------------------------------------------------------


def ntfy(rx: PagingStandin, **kw: Any) -> NtfyNotifierConfig:
    return NtfyNotifierConfig(type="ntfy", server=rx.url, **{"topic": "ops", **kw})


async def test_ntfy_publishes_title_priority_tags_and_click() -> None:
    async with PagingStandin() as rx:
        got = await send(ntfy(rx, tags=["prod"]), event(title="Ünïcode\ntitle\x1b[31m here"))
        assert got["status"] == 200 and got["id"]
        [r] = rx.of("ntfy")
        msg = r.parsed
        # the line break a space, the escape its visible mark (a header cannot carry it raw)
        assert msg["topic"] == "ops" and msg["title"] == "Ünïcode title␛[31m here"
        assert msg["priority"] == 5 and msg["tags"] == ["rotating_light", "prod"]
        assert msg["click"].endswith("/dashboard/checks/api-health")
        assert (
            msg["message"].startswith("3 checks failed") and "check: api-health" in msg["message"]
        )
        assert "Authorization" not in r.headers
        await send(ntfy(rx), event("resolved"))
        assert rx.of("ntfy")[-1].parsed["tags"] == ["white_check_mark"]


async def test_ntfy_token_errors_and_rate_limit(store: Store) -> None:
    async with PagingStandin() as rx:
        cfg = ntfy(rx, topic=PROTECTED_TOPIC, token=NTFY_TOKEN)
        await send(cfg, event())
        assert rx.of("ntfy")[-1].headers["Authorization"] == f"Bearer {NTFY_TOKEN}"
        err = await failure(ntfy(rx, topic=PROTECTED_TOPIC), event())
        assert err.permanent and "unauthorized (code 40101)" in str(err)
        rx.rate_limit("ntfy", 2)
        err = await failure(cfg, event())
        assert not err.permanent and err.retry_after == 2 and "limit reached" in str(err)
        assert build(cfg).secrets() == [NTFY_TOKEN]
        gap = await retried_after(store, rx, "ntfy", ntfy(rx, **fast()), 1)
        assert gap >= 0.95


async def test_ntfy_refused_token_is_dead_at_once_without_the_token(store: Store) -> None:
    async with PagingStandin() as rx:
        cfg = ntfy(rx, topic=PROTECTED_TOPIC, token="tk_wrongwrongwrongwrongwrongwro", **fast())
        enqueue(store, ["n"], event())
        report = await deliver(store, {"n": cfg}, deadline_s=10)
        assert report.sent == 0 and len(rx.of("ntfy")) == 1
        [row] = outbox.status(store).dead
        assert "unauthorized" in (row.last_error or "") and "tk_wrong" not in (row.last_error or "")


# --- opsgenie ---------------------------------------------------------------------------------


def opsgenie(rx: PagingStandin, **kw: Any) -> OpsgenieNotifierConfig:
    return OpsgenieNotifierConfig(
        type="opsgenie", **{"api_key": OPSGENIE_KEY, "api_url": rx.url, **kw}
    )


async def test_opsgenie_create_acknowledge_note_close_by_alias() -> None:
    async with PagingStandin() as rx:
        cfg = opsgenie(rx, responders=[{"type": "team", "name": "platform"}], tags=["prod"])
        long_title = "[production] api-health is down " + "x" * 200
        got = await send(cfg, event("opened", title=long_title))
        assert got["alias"] == SUBJECT and got["action"] == "create"
        await send(cfg, event("opened"))  # a repeat after a crash: same alert, count 2
        ack = event("acknowledged", fields={"check": "api-health", "by": "alice"})
        await send(cfg, ack)
        await send(cfg, event("note", body="rolling back"))
        await send(cfg, event("resolved"))
        [alert] = rx.opsgenie.values()
        assert alert.key == SUBJECT and alert.count == 2 and alert.status == "closed"
        assert alert.actions == ["create", "create", "acknowledge", "notes", "close"]
        create = rx.of("opsgenie")[0]
        assert create.headers["Authorization"] == f"GenieKey {OPSGENIE_KEY}"
        body = create.json()
        assert len(body["message"]) == 130 and body["priority"] == "P1"
        assert body["responders"] == [{"type": "team", "name": "platform"}]
        assert body["details"]["check"] == "api-health" and body["entity"] == "api-health"
        assert "Dashboard: http://127.0.0.1:8080" in body["description"]
        close = rx.of("opsgenie")[-1]
        assert close.query == {"identifierType": "alias"}
        assert close.path == "/v2/alerts/incident:api-health:production/close"
        assert rx.of("opsgenie")[2].json()["user"] == "alice"


async def test_opsgenie_errors_are_classified() -> None:
    async with PagingStandin() as rx:
        err = await failure(opsgenie(rx, api_key="wrong-key-0000"), event())
        assert err.permanent and "Could not authenticate" in str(err)
        await send(opsgenie(rx), event(title="  "))  # never an empty message: the type stands in
        assert rx.of("opsgenie")[-1].json()["message"] == "incident.opened"
        unprocessable = {
            "message": "Request body is not processable. Please check the errors.",
            "errors": {"responders": "Team not found"},
            "took": 0.01,
            "requestId": "0",
        }
        rx.fail("opsgenie", 422, unprocessable)
        err = await failure(opsgenie(rx), event())
        assert err.permanent and "Team not found" in str(err)
        rx.rate_limit("opsgenie", 1)
        err = await failure(opsgenie(rx), event())
        assert not err.permanent and "too many requests" in str(err)
        assert build(opsgenie(rx)).secrets() == [OPSGENIE_KEY]


# --- discord ----------------------------------------------------------------------------------


def discord(rx: PagingStandin, url: str | None = None) -> DiscordNotifierConfig:
    return DiscordNotifierConfig(type="discord", webhook_url=url or rx.discord_url)


async def test_discord_embed_with_mentions_neutralised() -> None:
    async with PagingStandin() as rx:
        got = await send(discord(rx), event(body=HOSTILE, fields={"error": "@here " + "y" * 2000}))
        assert got["status"] == 200 and got["message_id"]
        [r] = rx.of("discord")
        assert r.query == {"wait": "true"}
        msg = r.parsed
        assert msg["allowed_mentions"] == {"parse": []}
        [embed] = msg["embeds"]
        assert embed["title"] == "[production] api-health is down"
        assert embed["url"].endswith("/dashboard/checks/api-health")
        text = embed["description"] + embed["fields"][0]["value"]
        assert "@everyone" not in text and "@here" not in text and "<@123>" not in text
        assert "@\u200deveryone" in text
        assert len(embed["fields"][0]["value"]) <= 1024


async def test_discord_honours_retry_after_and_a_bad_token_is_dead(store: Store) -> None:
    async with PagingStandin() as rx:
        rx.rate_limit("discord", 0.4)
        err = await failure(discord(rx), event())
        assert not err.permanent and err.retry_after == 0.4
        bad = rx.discord_url.replace(DISCORD_TOKEN, "nope")
        err = await failure(discord(rx, bad), event())
        assert err.permanent and "Invalid Webhook Token (code 50027)" in str(err)
        assert DISCORD_TOKEN not in str(err)
        form = {"code": 50035, "errors": {"embeds": {}}, "message": "Invalid Form Body"}
        rx.fail("discord", 400, form)
        err = await failure(discord(rx), event())
        assert err.permanent and "Invalid Form Body (code 50035)" in str(err)
        cfg = DiscordNotifierConfig(type="discord", webhook_url=rx.discord_url, **fast())
        gap = await retried_after(store, rx, "discord", cfg, 1.2)
        assert gap >= 1.15


# --- teams ------------------------------------------------------------------------------------


async def test_teams_adaptive_card_and_legacy_throttling() -> None:
    async with PagingStandin() as rx:
        cfg = TeamsNotifierConfig(type="teams", webhook_url=rx.teams_url)
        assert await send(cfg, event(body=HOSTILE)) == {"status": 200}
        card = rx.of("teams")[0].parsed
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
        title, body, facts = card["body"][:3]
        assert title["text"] == "[production] api-health is down" and title["color"] == "Attention"
        assert "@everyone" not in body["text"] and "@\u200deveryone" in body["text"]
        assert {"title": "check", "value": "api-health"} in facts["facts"]
        assert card["actions"][0]["url"].endswith("/dashboard/checks/api-health")
        rx.rate_limit("teams", 1)  # a legacy connector: 200 with the failure in the text
        err = await failure(cfg, event())
        assert not err.permanent and "HTTP error 429" in str(err)
        rx.fail("teams", 429, "", {"Retry-After": "4"})  # a Workflows webhook
        assert (await failure(cfg, event())).retry_after == 4
        wrong = TeamsNotifierConfig(type="teams", webhook_url=rx.teams_url + "x")
        err = await failure(wrong, event())
        assert err.permanent and TEAMS_PATH not in str(err)


# --- telegram ---------------------------------------------------------------------------------


def telegram(rx: PagingStandin, **kw: Any) -> TelegramNotifierConfig:
    return TelegramNotifierConfig(
        type="telegram", api_url=rx.url, **{"token": TELEGRAM_TOKEN, "chat_id": TELEGRAM_CHAT, **kw}
    )


async def test_telegram_html_is_escaped_and_parses() -> None:
    async with PagingStandin() as rx:
        hostile = HOSTILE + " </b> <a href='http://evil'>x</a> &amp;" + "z" * 9000
        got = await send(telegram(rx, silent=True), event(title="<i>t</i> & co", body=hostile))
        assert got["message_id"]
        [r] = rx.of("telegram")
        sent = r.json()
        assert sent["parse_mode"] == "HTML" and sent["disable_notification"] is True
        plain = r.parsed  # the text as Telegram shows it
        assert plain.startswith("<i>t</i> & co\n\n@everyone <b>boom</b> & <@123>")
        assert "<a href='http://evil'>x</a> &amp;" in plain
        assert sent["text"].startswith("<b>&lt;i&gt;t&lt;/i&gt; &amp; co</b>")
        assert sent["text"].endswith(
            '<a href="http://127.0.0.1:8080/dashboard/checks/api-health">Dashboard</a>'
        )
        assert len(plain) <= 4096


async def test_telegram_errors_and_flood_control(store: Store) -> None:
    async with PagingStandin() as rx:
        err = await failure(telegram(rx, token="123:wrong"), event())
        assert err.permanent and "Unauthorized" in str(err) and "123:wrong" not in str(err)
        err = await failure(telegram(rx, chat_id="42"), event())
        assert err.permanent and "chat not found" in str(err)
        rx.rate_limit("telegram", 3)
        err = await failure(telegram(rx), event())
        assert not err.permanent and err.retry_after == 3
        assert build(telegram(rx)).secrets() == [TELEGRAM_TOKEN]
        gap = await retried_after(store, rx, "telegram", telegram(rx, **fast()), 1)
        assert gap >= 0.95


def test_config_show_hides_every_paging_secret() -> None:
    from prodshield.config import parse_config
    from prodshield.config.redacted import shown_config

    secrets = {
        "PD": PD_KEY,
        "OG": OPSGENIE_KEY,
        "NT": NTFY_TOKEN,
        "DC": f"https://discord.com/api/webhooks/1/{DISCORD_TOKEN}",
        "TM": f"https://acme.webhook.office.com/{TEAMS_PATH}",
        "TG": TELEGRAM_TOKEN,
    }
    text = """
notifiers:
  a: {type: pagerduty, routing_key: "${PD}"}
  b: {type: opsgenie, api_key: "${OG}"}
  c: {type: ntfy, topic: ops, token: "${NT}"}
  d: {type: discord, webhook_url: "${DC}"}
  e: {type: teams, webhook_url: "${TM}"}
  f: {type: telegram, token: "${TG}", chat_id: -100123}
"""
    shown = str(shown_config(parse_config(text, env=secrets).config))
    for value in (PD_KEY, OPSGENIE_KEY, NTFY_TOKEN, DISCORD_TOKEN, TEAMS_PATH, TELEGRAM_TOKEN):
        assert value not in shown
    assert "-100123" in shown  # a chat id is not a secret


async def test_a_test_event_opens_and_closes_an_alert_of_its_own_and_digests_page_no_one() -> None:
    async with PagingStandin() as rx:
        probe = Event(key="test:1", type="test", subject="test:oncall", title="prodshield test")
        got = await send(pd(rx), probe)
        assert got == {"dedup_key": "test:test:1", "actions": ["trigger", "resolve"]}
        assert rx.pagerduty["test:test:1"].status == "resolved"
        await send(opsgenie(rx), probe)
        assert rx.opsgenie["test:test:1"].actions == ["create", "close"]
        digest = Event(key="digest:1", type="digest", subject="digest:daily", title="Daily digest")
        assert "skipped" in await send(pd(rx), digest)
        assert "skipped" in await send(opsgenie(rx), digest)
        assert len(rx.of("pagerduty")) == 2 and len(rx.of("opsgenie")) == 2
