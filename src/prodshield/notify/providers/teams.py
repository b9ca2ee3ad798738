"""``type: teams``: a Microsoft Teams incoming webhook (or Workflows webhook) with an Adaptive Card.

The message is ``{"type": "message", "attachments": [one Adaptive Card]}``: the title, the body,
the fields as a ``FactSet`` and an ``Action.OpenUrl`` to the dashboard. Teams mentions need an
``<at>`` entity, which prodshield never sends; ``@name`` quoted from outside text is neutralised
as well (`prodshield.text.neutralise_mentions`), a Markdown link from outside text
(``[docs](https://evil)``) shows as typed (`prodshield.text.neutralise_links`) and control
characters as their marks (`notify.event.with_marks`). The card is cut to stay under Teams' 28 KB.

Answers: 2xx is delivered, except the legacy connectors' 200 whose text reports a failure
("Microsoft Teams endpoint returned HTTP error 429": retried; any other failure: permanent);
429 and 5xx retry, honouring ``Retry-After``; 400, 401, 403, 404 and 413 are permanent.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from prodshield.config.notifiers import TeamsNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event, with_marks
from prodshield.notify.http import post_json, short_body
from prodshield.notify.providers.base import ConfigModel, DeliveryContext
from prodshield.text import chat_markdown

CARD = "application/vnd.microsoft.card.adaptive"
COLOUR = {
    "incident.opened": "Attention",
    "incident.reminder": "Warning",
    "incident.updated": "Warning",
    "incident.resolved": "Good",
    "log.critical": "Attention",
    "audit.failed": "Attention",
}
MAX_TEXT = 20_000
MAX_BYTES = 24_000
"""Teams refuses a message over 28 KB (HTTP 413, or a legacy connector's 200 saying so: the
message would be dead); the card as sent (UTF-8 JSON) is kept under this, with room to spare."""
_FAILED = re.compile(r"returned HTTP error (\d{3})")


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


def card(event: Event) -> dict[str, Any]:
    """The Adaptive Card for ``event``, its body and facts cut until the whole message, as sent,
    is under ``MAX_BYTES`` (a text of 3-byte characters is cut three times shorter)."""
    event = with_marks(event)
    scale = 1.0
    message = _card(event, scale)
    for _ in range(8):
        size = len(encode(message))
        if size <= MAX_BYTES:
            break
        scale *= MAX_BYTES / size * 0.9
        message = _card(event, scale)
    return message


def _card(event: Event, scale: float) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": chat_markdown(event.title, 400),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": COLOUR.get(event.type, "Default"),
        }
    ]
    if event.body.strip():
        text = chat_markdown(event.body, max(40, int(MAX_TEXT * scale)))
        body.append({"type": "TextBlock", "text": text, "wrap": True})
    if event.fields:
        cap = max(40, int(1000 * scale))
        facts = [
            {"title": chat_markdown(k, 100), "value": chat_markdown(v, cap)}
            for k, v in event.fields.items()
        ]
        body.append({"type": "FactSet", "facts": facts})
    body.append(
        {
            "type": "TextBlock",
            "text": chat_markdown(f"{event.type} · severity {event.severity}", 200),
            "isSubtle": True,
            "size": "Small",
            "wrap": True,
        }
    )
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if event.url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Dashboard", "url": event.url}]
    return {
        "type": "message",
        "attachments": [{"contentType": CARD, "contentUrl": None, "content": content}],
    }


class TeamsNotifier:
    type: ClassVar[str] = "teams"
    example: ClassVar[dict[str, Any]] = {"type": "teams", "webhook_url": "${TEAMS_WEBHOOK}"}
    config_model: ClassVar[ConfigModel] = TeamsNotifierConfig

    def __init__(self, config: TeamsNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [self.config.webhook_url]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        status, text = await post_json(
            ctx.session,
            "Teams webhook",
            self.config.webhook_url,
            encode(card(event)),
            headers={"Content-Type": "application/json"},
            timeout=ctx.timeout,
        )
        failed = _FAILED.search(text) if "failed" in text.lower() else None
        if failed or (text.strip() not in ("", "1") and "error" in text.lower()):
            code = int(failed.group(1)) if failed else 0
            detail = f"Teams webhook: HTTP {status}: {short_body(text)}"
            if code == 429 or code >= 500:
                raise NotifyError(detail)
            raise NotifyError(detail, permanent=True)
        return {"status": status}
