"""``type: discord``: a channel webhook message with one embed.

``allowed_mentions`` is empty, so no text in the message can ping anyone, and mentions quoted from
outside text (``@everyone``, ``@here``, ``<@id>``) are neutralised as for GitHub
(`prodshield.text.neutralise_mentions`), so they do not even render as live mentions. A Markdown
link from outside (``[docs](https://evil)``) shows as typed (`prodshield.text.neutralise_links`),
control characters as their marks (`notify.event.with_marks`), and the embed is cut to fit
Discord's limits (its texts together at most 6,000 characters) rather than refused.

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
from prodshield.notify.event import Event, with_marks
from prodshield.notify.http import error_for_status, json_or_text, post_json, short_body
from prodshield.notify.providers.base import ConfigModel, DeliveryContext
from prodshield.text import chat_markdown

COLOUR = {
    "incident.opened": 0xD93F0B,
    "incident.updated": 0xFBCA04,
    "incident.reminder": 0xFBCA04,
    "incident.resolved": 0x0E8A16,
    "incident.acknowledged": 0x1D76DB,
    "log.critical": 0xB60205,
    "audit.failed": 0xB60205,
}


MAX_EMBED = 5900
"""Discord refuses (400 Invalid Form Body, so the message would be dead) an embed whose title,
description, field names and values and footer add up to over 6,000 characters; 100 spare."""


def message(event: Event, config: DiscordNotifierConfig) -> dict[str, Any]:
    """The webhook payload for ``event``: each text within its own limit (title 256, description
    4,096, field 256/1,024, footer 2,048) and all of them within the embed's 6,000."""
    event = with_marks(event)
    title = chat_markdown(event.title, 256)
    footer = chat_markdown(f"{event.type} · severity {event.severity} · {event.subject}", 300)
    embed: dict[str, Any] = {
        "title": title,
        "color": COLOUR.get(event.type, 0x6A737D),
        "footer": {"text": footer},
    }
    left = MAX_EMBED - len(title) - len(footer)
    items = list(event.fields.items())[:25]
    wanted = sum(min(len(k), 256) + min(len(v), 1024) + 1 for k, v in items)
    if event.body.strip():
        # The body first, but never more than leaves the fields half of what is left.
        share = left - min(wanted, left // 2) if items else left
        embed["description"] = chat_markdown(event.body, max(1, min(4096, share)))
        left -= len(embed["description"])
    fields = []
    for k, v in items:
        name = chat_markdown(k, min(256, max(1, left // 4)))
        value = chat_markdown(v, max(1, min(1024, left - len(name)))) or "-"
        left -= len(name) + len(value)
        if left < 0:
            break
        fields.append({"name": name, "value": value, "inline": len(v) < 40})
    if fields:
        embed["fields"] = fields
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
