"""``type: pagerduty``: PagerDuty Events API v2, one alert per incident.

``incident.opened`` (and updates, reminders, alerts) send ``trigger``, ``incident.acknowledged``
``acknowledge`` and ``incident.resolved`` ``resolve``, all with the same ``dedup_key`` (the
incident's subject, `alert_key`): PagerDuty folds a repeated trigger into the open alert, so a
delivery repeated after a crash pages no one twice. ``digest`` and ``incident.note`` are not sent.

Answers: 202 is accepted; 400 (invalid event, unknown routing key) and 401/403 are permanent;
429 (the per-key rate limit) and 5xx are retried, not sooner than a ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from prodshield.config.notifiers import PagerDutyNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event, with_marks
from prodshield.notify.http import error_for_status, json_or_text, post_json, short_body
from prodshield.notify.providers.base import (
    NOTE,
    RESOLVE,
    TRIGGER,
    ConfigModel,
    DeliveryContext,
    alert_key,
    page_action,
)

SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "warning"}
MAX_SUMMARY = 1024


def event_body(
    event: Event, config: PagerDutyNotifierConfig, action: str, dedup_key: str
) -> dict[str, Any]:
    """The Events API v2 request for ``event`` (control characters shown as marks)."""
    event = with_marks(event)
    body: dict[str, Any] = {
        "routing_key": config.routing_key,
        "event_action": action,
        "dedup_key": dedup_key,
    }
    if action != TRIGGER:
        return body
    fields = event.fields
    details: dict[str, Any] = dict(fields)
    if event.body.strip():
        details["details"] = event.body
    payload: dict[str, Any] = {
        "summary": event.title[:MAX_SUMMARY] or event.type,
        "source": config.source or fields.get("target") or fields.get("check") or "prodshield",
        "severity": SEVERITY.get(event.severity, "info"),
        "custom_details": details,
    }
    for name, key in (("component", "check"), ("group", "environment"), ("class", "kind")):
        if fields.get(key):
            payload[name] = fields[key]
    body["payload"] = payload
    body["client"] = "prodshield"
    if event.url:
        body["client_url"] = event.url
        body["links"] = [{"href": event.url, "text": "prodshield dashboard"}]
    return body


def _error(what: str, status: int, headers: Mapping[str, str], text: str) -> NotifyError:
    data = json_or_text(text)
    if isinstance(data, dict):
        message = str(data.get("message", ""))
        errors = data.get("errors")
        if errors:
            message += f": {short_body(json.dumps(errors), 300)}"
        text = message or text
    return error_for_status(what, status, headers, text)


class PagerDutyNotifier:
    type: ClassVar[str] = "pagerduty"
    example: ClassVar[dict[str, Any]] = {
        "type": "pagerduty",
        "routing_key": "${PAGERDUTY_ROUTING_KEY}",
    }
    config_model: ClassVar[ConfigModel] = PagerDutyNotifierConfig

    def __init__(self, config: PagerDutyNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [self.config.routing_key, *filter(None, [self.config.webhook_secret])]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        key = alert_key(event)
        if event.type == "test":
            first = await self._post(ctx, event_body(event, self.config, TRIGGER, key))
            await self._post(ctx, event_body(event, self.config, RESOLVE, key))
            return {"dedup_key": first.get("dedup_key", key), "actions": [TRIGGER, RESOLVE]}
        action = page_action(event)
        if action is None or action == NOTE:
            return {"skipped": f"{event.type} is not sent to PagerDuty"}
        answer = await self._post(ctx, event_body(event, self.config, action, key))
        return {"dedup_key": answer.get("dedup_key", key), "action": action}

    async def _post(self, ctx: DeliveryContext, body: dict[str, Any]) -> dict[str, Any]:
        what = f"PagerDuty {body['event_action']}"
        _, text = await post_json(
            ctx.session,
            what,
            self.config.url,
            json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            timeout=ctx.timeout,
            errors=_error,
        )
        data = json_or_text(text)
        return data if isinstance(data, dict) else {}


# --- PagerDuty's v3 webhooks, coming back ----------------------------------------------------

WEBHOOK_MAX_BYTES = 256 * 1024


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``X-PagerDuty-Signature`` (``v1=<hex>`` entries, comma-separated: several during
    a secret rotation) holds the HMAC-SHA256 of the raw body under ``secret``."""
    if not header or not secret:
        return False
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    found = False
    for entry in header.split(",")[:8]:
        found |= hmac.compare_digest(expected.encode(), entry.strip().encode())
    return found


def webhook_event(body: bytes) -> tuple[str, str | None, str] | None:
    """(event type, the incident's ``incident_key``, who did it) of a v3 webhook payload; None
    when it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    event = data.get("event") if isinstance(data, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
        return None
    payload = event.get("data")
    key = payload.get("incident_key") if isinstance(payload, dict) else None
    agent = event.get("agent")
    summary = agent.get("summary") if isinstance(agent, dict) else None
    who = summary if isinstance(summary, str) else "someone"
    return (
        event["event_type"][:64],
        key[:255] if isinstance(key, str) else None,
        " ".join(who.split())[:80] or "someone",
    )
