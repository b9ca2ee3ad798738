"""The paging and chat notifiers against stand-ins that speak each service's wire format."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from paging_standins import (
    NTFY_TOKEN,
    PD_KEY,
    PROTECTED_TOPIC,
    PagingStandin,
)
from prodshield.config.notifiers import NtfyNotifierConfig, PagerDutyNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify import Event, deliver, enqueue, outbox
from prodshield.notify.providers import DeliveryContext, build
from prodshield.store import Store

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
        assert msg["topic"] == "ops" and msg["title"] == "Ünïcode title here"
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
