"""``type: slack``: an incoming-webhook message with a plain ``text`` fallback and ``blocks``."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel

from prodshield.config.notifiers import SlackNotifierConfig
from prodshield.notify.event import Event
from prodshield.notify.http import post_json
from prodshield.notify.providers.base import DeliveryContext

EMOJI = {
    "incident.opened": ":red_circle:",
    "incident.updated": ":large_orange_circle:",
    "incident.reminder": ":alarm_clock:",
    "incident.resolved": ":large_green_circle:",
    "incident.acknowledged": ":eyes:",
    "incident.note": ":memo:",
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
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150], "emoji": True}}
    ]
    if event.body.strip():
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": event.body[:MAX_SECTION]}}
        )
    if event.fields:
        fields = [
            {"type": "mrkdwn", "text": f"*{k}*\n{v}"[:2000]} for k, v in event.fields.items()
        ][:10]
        blocks.append({"type": "section", "fields": fields})
    context = f"{event.type} · severity {event.severity} · {event.subject}"
    if event.url:
        context += f" · <{event.url}|dashboard>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    payload: dict[str, Any] = {
        "text": f"{headline}\n{event.body}".strip()[:MAX_SECTION],
        "blocks": blocks,
        "username": config.username,
    }
    if config.channel:
        payload["channel"] = config.channel
    return payload


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
