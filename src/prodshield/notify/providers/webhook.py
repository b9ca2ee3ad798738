"""``type: webhook``: POST the event as JSON, signed with HMAC-SHA256 when a secret is set.

Headers: ``X-Prodshield-Event`` (the event type), ``X-Prodshield-Idempotency-Key`` (receivers drop
repeats with it) and, with ``secret``, ``X-Prodshield-Signature: sha256=<hex>`` over the exact
body bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, ClassVar

from prodshield.config.notifiers import WebhookNotifierConfig
from prodshield.notify.event import Event
from prodshield.notify.http import post_json
from prodshield.notify.providers.base import ConfigModel, DeliveryContext


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    type: ClassVar[str] = "webhook"
    example: ClassVar[dict[str, Any]] = {
        "type": "webhook",
        "url": "https://hooks.example.com/prodshield",
        "secret": "${WEBHOOK_SECRET}",
    }
    config_model: ClassVar[ConfigModel] = WebhookNotifierConfig

    def __init__(self, config: WebhookNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [s for s in (self.config.secret, *self.config.headers.values()) if s]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        body = json.dumps({"event": event.to_dict(), "attempt": ctx.attempt}).encode()
        headers = {
            **self.config.headers,
            "Content-Type": "application/json",
            "User-Agent": "prodshield",
            "X-Prodshield-Event": event.type,
            "X-Prodshield-Idempotency-Key": event.key,
        }
        if self.config.secret:
            headers["X-Prodshield-Signature"] = sign(self.config.secret, body)
        status, _ = await post_json(
            ctx.session, "webhook", self.config.url, body, headers=headers, timeout=ctx.timeout
        )
        return {"status": status}
