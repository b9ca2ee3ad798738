"""Slack with a bot token against the Web API stand-in: threads per incident, and a retry after a
crash between the post and the outbox's record edits the message instead of posting it again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from prodshield.config.notifiers import SlackNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify import Event, deliver, enqueue, outbox
from prodshield.notify.providers import DeliveryContext, build
from prodshield.store import Store
from support.standins.slack import CHANNELS, TOKEN, SlackStandin

SCRIPTS = Path(__file__).resolve().parents[1] / "support" / "scripts"
SUBJECT = "incident:api-health:production"
OPS = CHANNELS["#ops"]


def event(kind: str, key: str, title: str = "api-health is down in production") -> Event:
    return Event(
        key=key,
        type=kind,
        subject=SUBJECT,
        title=title,
        body="3 checks failed: `[STATUS] == 200` got 503",
        severity="critical",
        fields={"check": "api-health", "environment": "production"},
    )


def bot(url: str, token: str = TOKEN, **extra: Any) -> SlackNotifierConfig:
    return SlackNotifierConfig(
        type="slack", token=token, channel="#ops", api_url=url, backoff=0.05, **extra
    )


async def test_incident_is_one_message_with_its_updates_in_the_thread(store: Store) -> None:
    async with SlackStandin() as slack:
        cfg = {"ops": bot(slack.url)}
        enqueue(store, ["ops"], event("incident.opened", "i1:opened"))
        enqueue(store, ["ops"], event("incident.updated", "i1:updated", "still down"))
        enqueue(store, ["ops"], event("incident.resolved", "i1:resolved", "api-health is up"))
        report = await deliver(store, cfg, deadline_s=10)
        assert report.sent == 3

        root, update, resolved = slack.in_channel("#ops")
        assert root.thread_ts is None
        assert update.thread_ts == root.ts and resolved.thread_ts == root.ts
        assert "still down" in update.text and "api-health is up" in resolved.text
        # The resolution edited the incident's first message to say so.
        assert root.edits == 1 and root.text.startswith(":large_green_circle: Resolved:")
        assert slack.count("chat.postMessage") == 3

        row = outbox.find(store, "ops", "i1:opened")
        assert row is not None and row.result == {"channel": OPS, "ts": root.ts}
        row = outbox.find(store, "ops", "i1:resolved")
        assert row is not None and row.result is not None
        assert row.result["thread_ts"] == root.ts and row.result["root_edited"] is True

        # The next incident of the same check starts a message of its own.
        enqueue(store, ["ops"], event("incident.opened", "i2:opened"))
        enqueue(store, ["ops"], event("incident.note", "i2:note", "looking"))
        assert (await deliver(store, cfg, deadline_s=10)).sent == 2
        second, note = slack.in_channel("#ops")[3:]
        assert second.thread_ts is None and note.thread_ts == second.ts


async def test_crash_between_post_and_mark_edits_on_retry(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after Slack posted (and the ts was kept) but before the row was marked
    sent: the next attempt edits that message; Slack shows one message, not two."""
    async with SlackStandin() as slack:
        cfg = {"ops": bot(slack.url)}
        enqueue(store, ["ops"], event("incident.opened", "c1:opened"))

        def crash(*args: object, **kwargs: object) -> None:
            raise SystemExit("killed before the mark")

        with monkeypatch.context() as patch:
            patch.setattr(outbox, "mark_sent_many", crash)
            with pytest.raises(SystemExit):
                await deliver(store, cfg, deadline_s=5, lease_s=0.2)
        row = outbox.find(store, "ops", "c1:opened")
        assert row is not None and row.status == "pending" and row.attempts == 1
        [posted] = slack.in_channel("#ops")
        assert row.result == {"channel": OPS, "ts": posted.ts}

        await asyncio.sleep(0.3)  # the dead worker's lease runs out
        report = await deliver(store, cfg, deadline_s=10, lease_s=0.2)
        assert report.sent == 1
        assert slack.in_channel("#ops") == [posted] and posted.edits == 1
        assert slack.count("chat.postMessage") == 1 and slack.count("chat.update") == 1
        row = outbox.find(store, "ops", "c1:opened")
        assert row is not None and row.status == "sent" and row.attempts == 2
        assert row.result == {"channel": OPS, "ts": posted.ts, "edited": True}


async def test_worker_killed_mid_resolution_edits_its_reply_on_retry(
    store: Store, store_url: str
) -> None:
    """SIGKILL a worker process after its reply to the thread was posted, while it edits the
    incident's first message; the next worker edits that reply instead of posting another."""
    async with SlackStandin() as slack:
        enqueue(store, ["slack"], event("incident.opened", "k1:opened"))
        assert (await deliver(store, {"slack": bot(slack.url)}, deadline_s=10)).sent == 1
        enqueue(store, ["slack"], event("incident.resolved", "k1:resolved", "api-health is up"))
        slack.hang("chat.update")  # the root edit after the reply: the worker dies waiting
        env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN}
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPTS / "notify_worker.py"),
            store_url,
            slack.url,
            "--notifier",
            "slack",
            "--lease",
            "2",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            end = time.monotonic() + 30
            while slack.count("chat.update") == 0:
                assert worker.returncode is None, "worker ended before editing the root"
                assert time.monotonic() < end, "worker never edited the root"
                await asyncio.sleep(0.02)
            worker.send_signal(signal.SIGKILL)
        finally:
            if worker.returncode is None:
                worker.kill()
            await worker.wait()
        slack.release()
        row = outbox.find(store, "slack", "k1:resolved")
        assert row is not None and row.status == "pending"
        root, reply = slack.in_channel("#ops")
        assert row.result == {"channel": OPS, "ts": reply.ts, "thread_ts": root.ts}

        report = await deliver(store, {"slack": bot(slack.url)}, deadline_s=20, lease_s=2)
        assert report.sent == 1
        assert slack.in_channel("#ops") == [root, reply]  # no second reply
        assert slack.count("chat.postMessage") == 2
        assert reply.edits == 1 and root.text.startswith(":large_green_circle: Resolved:")


async def test_web_api_errors_are_200_with_ok_false() -> None:
    async with SlackStandin() as slack, aiohttp.ClientSession() as session:
        ctx = DeliveryContext(session, "ops", 1, 5.0)
        wrong = build(bot(slack.url, token="xoxb-wrong-token-0000"))
        with pytest.raises(NotifyError) as err:
            await wrong.send(event("incident.opened", "e1"), ctx)
        assert err.value.permanent and "invalid_auth" in str(err.value)
        assert "xoxb-wrong" not in str(err.value)

        nowhere = build(bot(slack.url).model_copy(update={"channel": "#nowhere"}))
        with pytest.raises(NotifyError) as err:
            await nowhere.send(event("incident.opened", "e2"), ctx)
        assert err.value.permanent and "channel_not_found" in str(err.value)

        good = build(bot(slack.url))
        slack.rate_limit("chat.postMessage", retry_after=9)
        with pytest.raises(NotifyError) as err:
            await good.send(event("incident.opened", "e3"), ctx)
        assert err.value.retry_after == 9 and not err.value.permanent

        slack.script("chat.postMessage", 200, {"ok": False, "error": "internal_error"})
        with pytest.raises(NotifyError) as err:
            await good.send(event("incident.opened", "e4"), ctx)
        assert not err.value.permanent

        result = await good.send(event("incident.opened", "e5"), ctx)
        assert result["channel"] == OPS and [m.ts for m in slack.in_channel("#ops")] == [
            result["ts"]
        ]


async def test_a_deleted_message_is_posted_again_on_retry(store: Store) -> None:
    async with SlackStandin() as slack:
        cfg = {"ops": bot(slack.url)}
        enqueue(store, ["ops"], event("incident.opened", "d1:opened"))
        row = outbox.find(store, "ops", "d1:opened")
        assert row is not None
        # An earlier attempt recorded a message someone has since deleted.
        outbox.record_progress(store, row.id, {"channel": OPS, "ts": "1700000000.000001"})
        assert (await deliver(store, cfg, deadline_s=10)).sent == 1
        assert slack.count("chat.update") == 1 and slack.count("chat.postMessage") == 1
        assert len(slack.in_channel("#ops")) == 1


def test_config_needs_exactly_one_way_in() -> None:
    with pytest.raises(ValidationError, match="exactly one of webhook_url or token"):
        SlackNotifierConfig(type="slack")
    with pytest.raises(ValidationError, match="exactly one of webhook_url or token"):
        SlackNotifierConfig(type="slack", webhook_url="https://h", token=TOKEN, channel="#ops")
    with pytest.raises(ValidationError, match="needs a channel"):
        SlackNotifierConfig(type="slack", token=TOKEN)
    notifier = build(SlackNotifierConfig(type="slack", token=TOKEN, channel="#ops"))
    assert notifier.secrets() == [TOKEN]
