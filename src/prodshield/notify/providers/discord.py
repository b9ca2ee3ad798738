"""``type: discord``: a channel webhook message with one embed.

``allowed_mentions`` is empty, so no text in the message can ping anyone, and mentions quoted from
outside text (``@everyone``, ``@here``, ``<@id>``) are neutralised as for GitHub
(`prodshield.text.neutralise_mentions`), so they do not even render as live mentions.

Answers: with ``?wait=true`` Discord answers 200 with the message; 429 waits ``retry_after``
(seconds, in the JSON body; else ``Retry-After``); 401 (invalid webhook token), 404 (unknown
webhook) and 400 (invalid form body) are permanent; 5xx retry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from prodshield.config.notifiers import DiscordNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event
from prodshield.notify.http import error_for_status, json_or_text, post_json, short_body
from prodshield.notify.providers.base import ConfigModel, DeliveryContext
from prodshield.text import clip, neutralise_mentions

COLOUR = {
    "incident.opened": 0xD93F0B,
    "incident.updated": 0xFBCA04,
    "incident.reminder": 0xFBCA04,
    "incident.resolved": 0x0E8A16,
    "incident.acknowledged": 0x1D76DB,
    "log.critical": 0xB60205,
    "audit.failed": 0xB60205,
}


def _safe(text: str, limit: int) -> str:
    return clip(neutralise_mentions(text), limit)


def message(event: Event, config: DiscordNotifierConfig) -> dict[str, Any]:
    """The webhook payload for ``event``."""
    embed: dict[str, Any] = {
        "title": _safe(event.title, 256),
        "color": COLOUR.get(event.type, 0x6A737D),
        "footer": {
            "text": _safe(f"{event.type} · severity {event.severity} · {event.subject}", 2048)
        },
    }
    if event.body.strip():
        embed["description"] = _safe(event.body, 4096)
    if event.fields:
        embed["fields"] = [
            {"name": _safe(k, 256), "value": _safe(v, 1024) or "-", "inline": len(v) < 40}
            for k, v in list(event.fields.items())[:25]
        ]
    if event.url:
        embed["url"] = event.url
    return {
        "username": config.username,
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


def _error(what: str, status: int, headers: Mapping[str, str], text: str) -> NotifyError:
    data = json_or_text(text)
    retry_after = None
    if isinstance(data, dict):
        if status == 429 and isinstance(data.get("retry_after"), int | float):
            retry_after = max(0.0, float(data["retry_after"]))
        message = str(data.get("message", ""))
        if data.get("code"):
            message += f" (code {data['code']})"
        if data.get("errors"):
            message += f": {short_body(json.dumps(data['errors']), 300)}"
        text = message or text
    return error_for_status(what, status, headers, text, retry_after=retry_after)


class DiscordNotifier:
    type: ClassVar[str] = "discord"
    example: ClassVar[dict[str, Any]] = {"type": "discord", "webhook_url": "${DISCORD_WEBHOOK}"}
    config_model: ClassVar[ConfigModel] = DiscordNotifierConfig

    def __init__(self, config: DiscordNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [self.config.webhook_url]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        url = self.config.webhook_url
        url += ("&" if "?" in url else "?") + "wait=true"
        status, text = await post_json(
            ctx.session,
            "Discord webhook",
            url,
            json.dumps(message(event, self.config)).encode(),
            headers={"Content-Type": "application/json"},
            timeout=ctx.timeout,
            errors=_error,
        )
        data = json_or_text(text)
        result: dict[str, Any] = {"status": status}
        if isinstance(data, dict) and data.get("id"):
            result["message_id"] = str(data["id"])[:32]
        return result
