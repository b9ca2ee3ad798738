"""``type: slack``: a message with a plain ``text`` fallback and ``blocks``, through an incoming
webhook or, with a bot token, the Web API's ``chat.postMessage``.

With a bot token the answer names the message (``channel``, ``ts``) and prodshield keeps it on the
outbox row before marking the row sent, so an attempt after a crash in between edits that message
(``chat.update``) instead of posting a second one; an incident's later events (updates,
acknowledgements, notes, evidence, the resolution) are replies in the thread of its
``incident.opened`` message, and the resolution also edits that first message to say so. Web API
answers are HTTP 200 with ``{"ok": false, "error": CODE}`` for most failures: ``ratelimited``,
``internal_error``, ``fatal_error``, ``service_unavailable`` and ``request_timeout`` retry, every
other code (``invalid_auth``, ``channel_not_found``, ``not_in_channel``...) is permanent; HTTP 429
waits ``Retry-After``. A webhook's answers carry no message id: its messages are at least once.

Every text of the event is escaped per Slack's rules (``&``, ``<``, ``>``) before it goes into a
mrkdwn field, so ``<!channel>``, ``<@U123>`` or a disguised link ``<http://evil|docs>`` written in
a log line shows as typed instead of pinging a channel or hiding a URL (docs/security.md).
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, NamedTuple

from prodshield.config.notifiers import SlackNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event, with_marks
from prodshield.notify.http import json_or_text, post_json, short_body
from prodshield.notify.providers.base import ConfigModel, DeliveryContext
from prodshield.text import slack_escape

EMOJI = {
    "incident.opened": ":red_circle:",
    "incident.updated": ":large_orange_circle:",
    "incident.reminder": ":alarm_clock:",
    "incident.resolved": ":large_green_circle:",
    "incident.acknowledged": ":eyes:",
    "incident.note": ":memo:",
    "incident.evidence": ":mag:",
    "log.critical": ":rotating_light:",
    "audit.failed": ":no_entry:",
    "experiment.deviated": ":test_tube:",
    "digest": ":newspaper:",
    "test": ":wave:",
}
MAX_SECTION = 2900  # Slack caps a section's text at 3000 characters
ROOT = "incident.opened"
THREADED = frozenset(
    {
        "incident.updated",
        "incident.reminder",
        "incident.acknowledged",
        "incident.note",
        "incident.evidence",
        "incident.resolved",
    }
)
"""Events posted as replies under their incident's ``incident.opened`` message (bot token)."""
RETRYABLE = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
"""Web API error codes worth another attempt; every other code is permanent."""
_TS = re.compile(r"^[0-9]{1,12}\.[0-9]{1,9}$")
_CHANNEL = re.compile(r"^[A-Z0-9]{1,32}$")


def message(event: Event, config: SlackNotifierConfig) -> dict[str, Any]:
    """The webhook payload for ``event``."""
    event = with_marks(event)
    headline = f"{EMOJI.get(event.type, '')} {event.title}".strip()
    body = slack_escape(event.body)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150], "emoji": True}}
    ]
    if event.body.strip():
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(body)}})
    if event.fields:
        fields = [
            {"type": "mrkdwn", "text": _cut(f"*{slack_escape(k)}*\n{slack_escape(v)}", 2000)}
            for k, v in event.fields.items()
        ][:10]
        blocks.append({"type": "section", "fields": fields})
    context = slack_escape(f"{event.type} · severity {event.severity} · {event.subject}")
    if event.url:
        context += f" · <{slack_escape(event.url).replace('|', '%7C')}|dashboard>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    payload: dict[str, Any] = {
        "text": _cut(f"{slack_escape(headline)}\n{body}".strip()),
        "blocks": blocks,
        "username": config.username,
    }
    if config.channel:
        payload["channel"] = config.channel
    return payload


def _cut(text: str, limit: int = MAX_SECTION) -> str:
    """At most ``limit`` characters, never ending inside an ``&amp;``-style entity."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    amp = cut.rfind("&", max(0, limit - 5))
    return cut[:amp] if amp != -1 and ";" not in cut[amp:] else cut


def resolved_root(opened: Event, resolved: Event, config: SlackNotifierConfig) -> dict[str, Any]:
    """The incident's first message, edited when it resolves: its headline says so."""
    opened, resolved = with_marks(opened), with_marks(resolved)
    payload = message(opened, config)
    headline = f"{EMOJI['incident.resolved']} Resolved: {opened.title}"
    payload["blocks"][0]["text"]["text"] = headline[:150]
    payload["text"] = _cut(f"{slack_escape(headline)}\n{slack_escape(resolved.title)}")
    return payload


class MessageRef(NamedTuple):
    """Where a posted message is: the channel's id and the message's ``ts``."""

    channel: str
    ts: str


def message_ref(data: Any) -> MessageRef | None:
    """The (channel, ts) of a Web API answer or a stored result, if both look like Slack's."""
    if not isinstance(data, dict):
        return None
    channel, ts = data.get("channel"), data.get("ts")
    if not (isinstance(channel, str) and isinstance(ts, str)):
        return None
    return MessageRef(channel, ts) if _CHANNEL.match(channel) and _TS.match(ts) else None


class SlackApiError(NotifyError):
    """A Web API answer ``{"ok": false, "error": code}``."""

    def __init__(self, method: str, code: str) -> None:
        super().__init__(f"Slack {method}: {code}", permanent=code not in RETRYABLE)
        self.code = code


class SlackNotifier:
    type: ClassVar[str] = "slack"
    example: ClassVar[dict[str, Any]] = {
        "type": "slack",
        "token": "${SLACK_BOT_TOKEN}",
        "channel": "#ops",
    }
    config_model: ClassVar[ConfigModel] = SlackNotifierConfig

    def __init__(self, config: SlackNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [s for s in (self.config.webhook_url, self.config.token) if s]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        if self.config.token:
            return await self._post(event, ctx)
        assert self.config.webhook_url is not None  # the config requires one of the two
        body = json.dumps(message(event, self.config)).encode()
        status, text = await post_json(
            ctx.session,
            "Slack webhook",
            self.config.webhook_url,
            body,
            headers={"Content-Type": "application/json"},
            timeout=ctx.timeout,
        )
        return {"status": status, "response": text[:100]}

    async def _post(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        """Bot token: edit the message an earlier attempt posted, else post (in the incident's
        thread when it has one) and record where; a resolution also edits the thread's root."""
        journal = ctx.journal
        payload = message(event, self.config)
        root = await journal.earlier(ROOT) if journal and event.type in THREADED else None
        root_ref = message_ref(root[1]) if root else None
        result: dict[str, Any] | None = None
        earlier = message_ref(journal.previous) if journal else None
        if earlier is not None:
            try:
                await self._edit(ctx, earlier, payload)
                result = {
                    **(journal.previous if journal and journal.previous else {}),
                    "edited": True,
                }
            except SlackApiError as exc:
                if exc.code != "message_not_found":  # deleted by someone: post it again
                    raise
        if result is None:
            if root_ref is not None:
                payload["channel"], payload["thread_ts"] = root_ref.channel, root_ref.ts
            answer = await self._call(ctx, "chat.postMessage", payload)
            posted = message_ref(answer)
            result = {"channel": posted.channel, "ts": posted.ts} if posted else {"ts": None}
            if root_ref is not None:
                result["thread_ts"] = root_ref.ts
            if journal is not None and posted is not None:
                await journal.record(result)
        if root is not None and root_ref is not None and event.type == "incident.resolved":
            try:
                await self._edit(ctx, root_ref, resolved_root(root[0], event, self.config))
                result["root_edited"] = True
            except SlackApiError as exc:
                if exc.code != "message_not_found":
                    raise
        return result

    async def _edit(self, ctx: DeliveryContext, ref: MessageRef, payload: dict[str, Any]) -> None:
        await self._call(
            ctx,
            "chat.update",
            {
                "channel": ref.channel,
                "ts": ref.ts,
                "text": payload["text"],
                "blocks": payload["blocks"],
            },
        )

    async def _call(
        self, ctx: DeliveryContext, method: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """One Web API call; an answer that is not ``ok`` raises :class:`SlackApiError`."""
        _, text = await post_json(
            ctx.session,
            f"Slack {method}",
            f"{self.config.api_url.rstrip('/')}/{method}",
            json.dumps(payload).encode(),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {self.config.token}",
            },
            timeout=ctx.timeout,
        )
        data = json_or_text(text)
        if not isinstance(data, dict):
            raise NotifyError(f"Slack {method}: the answer is not JSON: {short_body(text, 100)}")
        if data.get("ok") is not True:
            code = data.get("error")
            raise SlackApiError(
                method, short_body(code, 80) if isinstance(code, str) else "no_error_code"
            )
        return data
