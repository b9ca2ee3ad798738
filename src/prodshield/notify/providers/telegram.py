"""``type: telegram``: the Bot API's ``sendMessage`` with ``parse_mode: HTML``.

Every outside text is HTML-escaped (``&``, ``<``, ``>``; ``"`` too inside the link), so a ``<b>``
or ``<a href>`` in a log line shows as typed. Texts are cut before escaping, so the message stays
under Telegram's 4,096 characters and no cut falls inside an entity. The token is part of the URL:
it is a secret, and errors never name the URL.

Answers are ``{"ok": false, "error_code": N, "description": ...}``: 429 waits
``parameters.retry_after``; 400 (``chat not found``, ``can't parse entities``), 401 (bad token)
and 403 (the bot was blocked or removed) are permanent; 5xx retry.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from prodshield.config.notifiers import TelegramNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event, with_marks
from prodshield.notify.http import error_for_status, json_or_text, post_json
from prodshield.notify.providers.base import ConfigModel, DeliveryContext
from prodshield.text import clip

MAX_TITLE = 300
MAX_BODY = 3000
MAX_FIELDS = 600


def _esc(text: str, limit: int) -> str:
    return html.escape(clip(text, limit), quote=False)


def text(event: Event) -> str:
    """The HTML message for ``event`` (under 4,096 characters once entities are parsed), its
    control characters shown as marks."""
    event = with_marks(event)
    parts = [f"<b>{_esc(event.title, MAX_TITLE)}</b>"]
    if event.body.strip():
        parts.append(_esc(event.body.strip(), MAX_BODY))
    if event.fields:
        lines = clip("\n".join(f"{k}: {v}" for k, v in event.fields.items()), MAX_FIELDS)
        parts.append(html.escape(lines, quote=False))
    if event.url:
        parts.append(f'<a href="{html.escape(event.url, quote=True)}">Dashboard</a>')
    return "\n\n".join(parts)


def _error(what: str, status: int, headers: Mapping[str, str], body: str) -> NotifyError:
    data = json_or_text(body)
    retry_after = None
    if isinstance(data, dict):
        params = data.get("parameters")
        if isinstance(params, dict) and isinstance(params.get("retry_after"), int | float):
            retry_after = max(0.0, float(params["retry_after"]))
        body = str(data.get("description") or body)
    return error_for_status(what, status, headers, body, retry_after=retry_after)


class TelegramNotifier:
    type: ClassVar[str] = "telegram"
    example: ClassVar[dict[str, Any]] = {
        "type": "telegram",
        "token": "${TELEGRAM_BOT_TOKEN}",
        "chat_id": "-1001234567890",
    }
    config_model: ClassVar[ConfigModel] = TelegramNotifierConfig

    def __init__(self, config: TelegramNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [self.config.token]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        payload = {
            "chat_id": self.config.chat_id,
            "text": text(event),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
            "disable_notification": self.config.silent,
        }
        url = f"{self.config.api_url.rstrip('/')}/bot{self.config.token}/sendMessage"
        _, answer = await post_json(
            ctx.session,
            "Telegram sendMessage",
            url,
            json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            timeout=ctx.timeout,
            errors=_error,
        )
        data = json_or_text(answer)
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, dict):
            raise NotifyError("Telegram sendMessage: the answer has no message")
        return {"message_id": result.get("message_id")}
