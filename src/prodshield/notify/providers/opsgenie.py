"""``type: opsgenie``: Opsgenie Alert API v2, one alert per incident by ``alias``.

What triggers a PagerDuty alert creates an Opsgenie alert with the incident's `alert_key` as
``alias``; ``incident.acknowledged`` acknowledges it, ``incident.resolved`` closes it and
``incident.note`` adds a note, all addressed ``/v2/alerts/{alias}/...?identifierType=alias``.
Opsgenie keeps one open alert per alias, so a create repeated after a crash only raises its count.

Answers: 202 is accepted (processed asynchronously); 401 ``Could not authenticate``, 403, 404
and 422 (validation, ``errors`` naming the fields) are permanent; 429 and 5xx retry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from prodshield.config.notifiers import OpsgenieNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event, with_marks
from prodshield.notify.http import error_for_status, json_or_text, post_json, short_body
from prodshield.notify.providers.base import (
    ACKNOWLEDGE,
    NOTE,
    RESOLVE,
    TRIGGER,
    ConfigModel,
    DeliveryContext,
    alert_key,
    page_action,
)

PRIORITY = {"critical": "P1", "high": "P2", "medium": "P3", "low": "P4", "info": "P5"}
MAX_MESSAGE = 130
MAX_DESCRIPTION = 15_000
MAX_NOTE = 25_000
MAX_DETAILS = 7_900
SOURCE = "prodshield"


def create_body(event: Event, config: OpsgenieNotifierConfig, alias: str) -> dict[str, Any]:
    """The create-alert request for ``event`` (control characters shown as marks), each field
    within Opsgenie's limits (details: 8,000 characters in all)."""
    event = with_marks(event)
    title = " ".join(event.title.split())
    message = title if len(title) <= MAX_MESSAGE else title[: MAX_MESSAGE - 1] + "…"
    description = event.body
    if event.url:
        description = f"{description}\n\nDashboard: {event.url}".strip()
    body: dict[str, Any] = {
        "message": message or event.type,
        "alias": alias,
        "description": description[:MAX_DESCRIPTION],
        "priority": PRIORITY.get(event.severity, "P3"),
        "source": SOURCE,
        "details": details(event.fields),
        "tags": [*config.tags, *event.labels][:20],
    }
    if event.fields.get("check"):
        body["entity"] = event.fields["check"]
    if config.responders:
        body["responders"] = config.responders
    return body


def details(fields: dict[str, str]) -> dict[str, str]:
    """The fields as Opsgenie ``details``: keys of at most 50 characters, values of at most 1,000,
    and no more than ``MAX_DETAILS`` characters in all (over Opsgenie's 8,000 it answers 422 and
    the alert would be dead); the fields that do not fit are left out."""
    out: dict[str, str] = {}
    left = MAX_DETAILS
    for k, v in fields.items():
        key, value = k[:50], v[: min(1000, max(0, left - len(k[:50])))]
        left -= len(key) + len(value)
        if left < 0 or (not value and v):
            break
        out[key] = value
    return out


def _error(what: str, status: int, headers: Mapping[str, str], text: str) -> NotifyError:
    data = json_or_text(text)
    if isinstance(data, dict):
        message = str(data.get("message", ""))
        if data.get("errors"):
            message += f": {short_body(json.dumps(data['errors']), 300)}"
        text = message or text
    return error_for_status(what, status, headers, text)


class OpsgenieNotifier:
    type: ClassVar[str] = "opsgenie"
    example: ClassVar[dict[str, Any]] = {"type": "opsgenie", "api_key": "${OPSGENIE_API_KEY}"}
    config_model: ClassVar[ConfigModel] = OpsgenieNotifierConfig

    def __init__(self, config: OpsgenieNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [self.config.api_key]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        event = with_marks(event)  # notes and closing notes quote its title and body too
        alias = alert_key(event)
        if event.type == "test":
            await self._post(ctx, "create", "/v2/alerts", create_body(event, self.config, alias))
            await self._action(ctx, alias, "close", {"source": SOURCE, "note": "test"})
            return {"alias": alias, "actions": ["create", "close"]}
        action = page_action(event)
        by = event.fields.get("by", "")[:100]
        if action == TRIGGER:
            answer = await self._post(
                ctx, "create", "/v2/alerts", create_body(event, self.config, alias)
            )
            return {"alias": alias, "action": "create", "request": answer.get("requestId")}
        if action == ACKNOWLEDGE:
            body = {"source": SOURCE, "user": by, "note": event.title}
            await self._action(ctx, alias, "acknowledge", body)
            return {"alias": alias, "action": "acknowledge"}
        if action == RESOLVE:
            await self._action(ctx, alias, "close", {"source": SOURCE, "note": event.title})
            return {"alias": alias, "action": "close"}
        if action == NOTE:
            body = {"source": SOURCE, "user": by, "note": event.body[:MAX_NOTE] or event.title}
            await self._action(ctx, alias, "notes", body)
            return {"alias": alias, "action": "note"}
        return {"skipped": f"{event.type} is not sent to Opsgenie"}

    async def _action(
        self, ctx: DeliveryContext, alias: str, action: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        path = f"/v2/alerts/{quote(alias, safe='')}/{action}?identifierType=alias"
        return await self._post(ctx, action, path, {k: v for k, v in body.items() if v})

    async def _post(
        self, ctx: DeliveryContext, action: str, path: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        _, text = await post_json(
            ctx.session,
            f"Opsgenie {action}",
            self.config.api_url.rstrip("/") + path,
            json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"GenieKey {self.config.api_key}",
            },
            timeout=ctx.timeout,
            errors=_error,
        )
        data = json_or_text(text)
        return data if isinstance(data, dict) else {}
