"""``type: ntfy``: publish to an ntfy topic with ``Title``, ``Priority``, ``Tags`` and ``Click``.

The message is the event's body as plain text (ntfy shows it as typed), its control characters
as marks, cut to 4,000 UTF-8 bytes (ntfy's limit is 4,096 bytes); the title rides in a
header, so line breaks from outside text become spaces, its control characters are marks too
(a header cannot carry the raw bytes), and a title that is not plain ASCII (marks are not) is sent
as an RFC 2047 encoded word, which ntfy decodes. Answers: 200 is published; 401/403 (token refused) and other 4xx
are permanent; 429 (ntfy's request or message limits) and 5xx retry, honouring ``Retry-After``.
ntfy takes no idempotency key: a message is delivered at least once.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, ClassVar

from prodshield.config.notifiers import NtfyNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event, with_marks
from prodshield.notify.http import error_for_status, json_or_text, post_json
from prodshield.notify.providers.base import ConfigModel, DeliveryContext
from prodshield.text import clip_bytes, for_header, needs_encoded_word

PRIORITY = {"critical": "5", "high": "4", "medium": "3", "low": "2", "info": "3"}
TAGS = {
    "incident.opened": "rotating_light",
    "incident.updated": "warning",
    "incident.reminder": "alarm_clock",
    "incident.resolved": "white_check_mark",
    "incident.acknowledged": "eyes",
    "incident.note": "memo",
    "log.critical": "rotating_light",
    "audit.failed": "no_entry",
    "experiment.deviated": "test_tube",
    "digest": "newspaper",
    "test": "wave",
}
MAX_MESSAGE = 4000
"""Bytes, not characters: ntfy takes a message of at most 4,096 bytes (``message-size-limit``)
and turns a longer one into an attachment, or refuses it (413) where attachments are off."""


def header_text(text: str, limit: int = 250) -> str:
    """One header line: control characters shown as their marks (``␛[31m``, as in the message),
    whitespace runs made one space; sent as an RFC 2047 encoded word, which ntfy decodes, when
    it is not plain ASCII (a mark is not) or holds ``=?`` (outside text posing as an encoded word
    would be decoded by ntfy into what it hides, raw escapes included; encoded, it stays text)."""
    flat = for_header(text, limit)
    if not needs_encoded_word(flat):
        return flat
    return "=?UTF-8?B?" + base64.b64encode(flat.encode()).decode() + "?="


def request(event: Event, config: NtfyNotifierConfig) -> tuple[dict[str, str], bytes]:
    """The headers and body that publish ``event``."""
    shown = with_marks(event)  # the headers show them too (header_text)
    lines = [shown.body.strip()] if shown.body.strip() else []
    lines += [f"{k}: {v}" for k, v in shown.fields.items()]
    message = clip_bytes("\n".join(lines) or shown.title, MAX_MESSAGE)
    tags = [TAGS[event.type]] if event.type in TAGS else []
    tags += config.tags
    headers = {
        "Title": header_text(event.title),
        "Priority": PRIORITY.get(event.severity, "3"),
        "Content-Type": "text/plain; charset=utf-8",
    }
    if tags:
        headers["Tags"] = header_text(",".join(tags))
    if event.url:
        headers["Click"] = header_text(event.url, 2000)
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    return headers, message.encode()


def _error(what: str, status: int, headers: Mapping[str, str], text: str) -> NotifyError:
    data = json_or_text(text)
    if isinstance(data, dict) and data.get("error"):
        text = f"{data['error']} (code {data.get('code')})"
    return error_for_status(what, status, headers, text)


class NtfyNotifier:
    type: ClassVar[str] = "ntfy"
    example: ClassVar[dict[str, Any]] = {"type": "ntfy", "topic": "acme-ops-alerts"}
    config_model: ClassVar[ConfigModel] = NtfyNotifierConfig

    def __init__(self, config: NtfyNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [self.config.token] if self.config.token else []

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        headers, body = request(event, self.config)
        url = f"{self.config.server.rstrip('/')}/{self.config.topic}"
        status, text = await post_json(
            ctx.session,
            "ntfy publish",
            url,
            body,
            headers=headers,
            timeout=ctx.timeout,
            errors=_error,
        )
        data = json_or_text(text)
        result: dict[str, Any] = {"status": status}
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            result["id"] = data["id"][:64]
        return result


__all__ = ["NtfyNotifier"]
