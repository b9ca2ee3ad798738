"""``type: slack``: an incoming-webhook message with a plain ``text`` fallback and ``blocks``.

Every text of the event is escaped per Slack's rules (``&``, ``<``, ``>``) before it goes into a
mrkdwn field, so ``<!channel>``, ``<@U123>`` or a disguised link ``<http://evil|docs>`` written in
a log line shows as typed instead of pinging a channel or hiding a URL (docs/security.md).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel

from prodshield.config.notifiers import SlackNotifierConfig
from prodshield.notify.event import Event
from prodshield.notify.http import post_json
from prodshield.notify.providers.base import DeliveryContext
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


def message(event: Event, config: SlackNotifierConfig) -> dict[str, Any]:
    """The webhook payload for ``event``."""
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


class SlackNotifier:
    kind: ClassVar[str] = "slack"
    config_model: ClassVar[type[BaseModel]] = SlackNotifierConfig

    def __init__(self, config: SlackNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [self.config.webhook_url]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
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
