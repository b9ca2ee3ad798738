"""Stand-ins on loopback for the paging and chat services prodshield notifies.

One aiohttp application answers, on its own paths, with each service's real wire format,
validation errors, authentication failures and rate-limit answers:

- PagerDuty Events API v2: ``POST /v2/enqueue`` -> 202 ``{"status": "success", "message": "Event
  processed", "dedup_key": ...}``; an unknown routing key or a malformed event -> 400 ``{"status":
  "invalid event", "message": "Event object is invalid", "errors": [...]}``. Alerts are kept by
  ``dedup_key``: a trigger of an open alert is folded into it (``count``), acknowledge and resolve
  change its status.
- ntfy: ``POST /{topic}`` with ``Title``/``Priority``/``Tags``/``Click`` headers (RFC 2047 encoded
  words decoded) -> 200 message JSON; a protected topic without the token -> 401 ``{"code":
  40101, "http": 401, "error": "unauthorized"}``.
- Discord: ``POST /api/webhooks/{id}/{token}[?wait=true]`` -> 200 message JSON (204 without
  ``wait``); a wrong token -> 401 ``{"message": "Invalid Webhook Token", "code": 50027}``; an
  embed over Discord's limits -> 400 ``{"code": 50035, "message": "Invalid Form Body"}``; rate
  limited -> 429 ``{"message": "You are being rate limited.", "retry_after": S, "global":
  false}`` with ``Retry-After``.
- Microsoft Teams: ``POST /webhookb2/{path}`` with an Adaptive Card attachment -> 200 ``1``; a
  payload without a card -> 400; a throttled connector answers 200 with "Microsoft Teams endpoint
  returned HTTP error 429" in the text, as the legacy connectors do.
- Telegram Bot API: ``POST /bot{token}/sendMessage`` -> ``{"ok": true, "result": {...}}``; the HTML
  text is parsed as Telegram does (supported tags only, balanced, entities decoded; the plain text
  is recorded); a wrong token -> 401 ``Unauthorized``; an unknown chat -> 400 ``Bad Request: chat
  not found``; rate limited -> 429 with ``parameters.retry_after``.
- Opsgenie Alert API v2: ``Authorization: GenieKey KEY``; ``POST /v2/alerts`` (alias dedups into
  the open alert), ``POST /v2/alerts/{id}/close|acknowledge|notes?identifierType=alias`` -> 202
  ``{"result": "Request will be processed", ...}``; a wrong key -> 401 ``Could not authenticate``;
  an empty message, or one over its limits (message 130, description 15,000, details 8,000
  characters in all) -> 422 with ``errors``.
- Sizes: a Discord embed whose texts add up to over 6,000 characters -> 400; a Teams message over
  28 KB -> 413; an ntfy message over 4,096 bytes -> 413 (a server without attachments).

:meth:`PagingStandin.rate_limit` and :meth:`PagingStandin.fail` script the next answers of one
service. ``requests`` logs every request with its arrival time.
"""

from __future__ import annotations

import asyncio
import email.header
import html.parser
import json
import math
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

PD_KEY = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12"
OPSGENIE_KEY = "eb243592-faa2-4ba2-a551q-1afdf565c889"
NTFY_TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
DISCORD_TOKEN = "dIsCoRdToKeN-0123456789abcdefghij"
TELEGRAM_TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TEAMS_PATH = "webhookb2/1b7c5e/IncomingWebhook/9f2e/SeCrEtSiGnAtUrE"
TELEGRAM_CHAT = "-1001234567890"
PROTECTED_TOPIC = "ops-private"
NTFY_MESSAGE_LIMIT = 4096
"""Bytes (ntfy's ``message-size-limit``); longer is an attachment, refused here."""
TEAMS_MESSAGE_LIMIT = 28 * 1024

TELEGRAM_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "blockquote",
        "span",
    }
)


@dataclass
class Request:
    service: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0
    parsed: Any = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Alert:
    key: str
    status: str
    count: int = 1
    actions: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


class _TelegramHTML(html.parser.HTMLParser):
    """Telegram's HTML parse mode: supported tags only, balanced; the text as shown."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.stack: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS and self.error is None:
            self.error = f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if (not self.stack or self.stack.pop() != tag) and self.error is None:
            self.error = f'Unmatched end tag "{tag}"'

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def telegram_parse(text: str) -> tuple[str | None, str]:
    """(error, plain text) of a parse_mode=HTML message."""
    if "&" in text:
        for raw in text.split("&")[1:]:
            name = raw.split(";", 1)[0] if ";" in raw else None
            if name is None or not (name in {"lt", "gt", "amp", "quot"} or name.startswith("#")):
                return "Can't find end of the entity starting", ""
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.stack:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
    return parser.error, "".join(parser.text)


class PagingStandin:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.pagerduty: dict[str, Alert] = {}
        self.opsgenie: dict[str, Alert] = {}
        self.scripted: dict[str, list[tuple[int, dict[str, str], Any]]] = {}
        self.runner: web.AppRunner | None = None
        self.url = ""

    # --- running ---------------------------------------------------------------------------

    async def start(self) -> PagingStandin:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def __aenter__(self) -> PagingStandin:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @classmethod
    @contextmanager
    def in_thread(cls) -> Iterator[PagingStandin]:
        standin = cls()
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(standin.start())
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=run, daemon=True, name="paging-standin")
        thread.start()
        assert ready.wait(30), "the paging stand-in did not start"
        try:
            yield standin
        finally:
            asyncio.run_coroutine_threadsafe(standin.close(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)

    # --- addresses and scripting ---------------------------------------------------------

    @property
    def pagerduty_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    @property
    def discord_url(self) -> str:
        return f"{self.url}/api/webhooks/112233445566/{DISCORD_TOKEN}"

    @property
    def teams_url(self) -> str:
        return f"{self.url}/{TEAMS_PATH}"

    def configs(self) -> dict[str, Any]:
        """A notifier config per service this stand-in answers for, pointed at it."""
        from prodshield.config.notifiers import (
            DiscordNotifierConfig,
            NtfyNotifierConfig,
            OpsgenieNotifierConfig,
            PagerDutyNotifierConfig,
            TeamsNotifierConfig,
            TelegramNotifierConfig,
        )

        return {
            "discord": DiscordNotifierConfig(type="discord", webhook_url=self.discord_url),
            "teams": TeamsNotifierConfig(type="teams", webhook_url=self.teams_url),
            "telegram": TelegramNotifierConfig(
                type="telegram", api_url=self.url, token=TELEGRAM_TOKEN, chat_id=TELEGRAM_CHAT
            ),
            "ntfy": NtfyNotifierConfig(type="ntfy", server=self.url, topic="ops"),
            "pagerduty": PagerDutyNotifierConfig(
                type="pagerduty", routing_key=PD_KEY, url=self.pagerduty_url
            ),
            "opsgenie": OpsgenieNotifierConfig(
                type="opsgenie", api_key=OPSGENIE_KEY, api_url=self.url
            ),
        }

    def fail(
        self,
        service: str,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests of ``service`` get this answer (after being logged)."""
        self.scripted.setdefault(service, []).extend([(status, headers or {}, body)] * times)

    def rate_limit(self, service: str, seconds: float, times: int = 1) -> None:
        """The next requests of ``service`` get that service's own rate-limit answer."""
        wait = math.ceil(seconds)
        answer: tuple[int, dict[str, str], Any] = {
            "pagerduty": (
                429,
                {"Retry-After": str(wait)},
                {
                    "status": "throttle exceeded",
                    "message": "Requests for this service are arriving too quickly. "
                    "Please retry later.",
                },
            ),
            "ntfy": (
                429,
                {"Retry-After": str(wait)},
                {
                    "code": 42901,
                    "http": 429,
                    "error": "limit reached: too many requests",
                    "link": "https://ntfy.sh/docs/config/#rate-limiting",
                },
            ),
            "discord": (
                429,
                {"Retry-After": str(wait), "X-RateLimit-Scope": "shared"},
                {"message": "You are being rate limited.", "retry_after": seconds, "global": False},
            ),
            "teams": (
                200,
                {},
                "Webhook message delivery failed with error: Microsoft Teams "
                "endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi,"
                "cv=QOu8.0",
            ),
            "telegram": (
                429,
                {},
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                },
            ),
            "opsgenie": (
                429,
                {"X-RateLimit-State": "THROTTLED"},
                {
                    "message": "You are making too many requests! To avoid errors, we "
                    "recommend you limit requests.",
                    "took": 0.001,
                    "requestId": str(uuid.uuid4()),
                },
            ),
        }[service]
        self.scripted.setdefault(service, []).extend([answer] * times)

    def of(self, service: str) -> list[Request]:
        return [r for r in self.requests if r.service == service]

    def acknowledge_in_pagerduty(
        self, key: str, hook_url: str, secret: str, who: str = "Tenex Engineer"
    ) -> tuple[int, Any]:
        """Someone acknowledges the alert ``key`` in PagerDuty: its incident turns acknowledged
        and PagerDuty's v3 webhook subscription POSTs ``incident.acknowledged`` to ``hook_url``,
        signed as PagerDuty signs it (``X-PagerDuty-Signature: v1=<HMAC-SHA256 hex>``, here with
        a retired secret's signature first, as during a rotation). Returns (status, answer)."""
        alert = self.pagerduty[key]
        alert.status = "acknowledged"
        alert.actions.append("acknowledged in PagerDuty")
        body = pagerduty_webhook_body("incident.acknowledged", key, who)
        return post_signed(hook_url, body, [f"old-{secret}", secret])

    # --- the services ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        service = (
            "pagerduty"
            if path == "/v2/enqueue"
            else "opsgenie"
            if path.startswith("/v2/alerts")
            else "discord"
            if path.startswith("/api/webhooks/")
            else "teams"
            if path.startswith("/webhookb2/")
            else "telegram"
            if path.startswith("/bot")
            else "ntfy"
        )
        logged = Request(
            service,
            request.method,
            path,
            dict(request.query),
            dict(request.headers),
            await request.read(),
            time.time(),
        )
        self.requests.append(logged)
        queue = self.scripted.get(service)
        if queue:
            status, headers, body = queue.pop(0)
            resp = _answer(status, body, headers)
        else:
            resp = getattr(self, f"_{service}")(request, logged)
        logged.status = resp.status
        return resp

    def _pagerduty(self, request: web.Request, r: Request) -> web.Response:
        try:
            event = r.json()
        except ValueError:
            return _answer(
                400,
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["Malformed JSON"],
                },
            )
        errors = []
        if event.get("routing_key") != PD_KEY:
            errors.append("Invalid routing key")
        action = event.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append(
                "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)"
            )
        key = event.get("dedup_key") or uuid.uuid4().hex
        if len(key) > 255:
            errors.append("'dedup_key' is too long (max 255)")
        if action == "trigger":
            payload = event.get("payload") or {}
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    errors.append(f"'payload.{name}' is missing or blank")
            if payload.get("severity") not in (None, "critical", "error", "warning", "info"):
                errors.append("'payload.severity' is invalid")
        elif not event.get("dedup_key"):
            errors.append("'dedup_key' is required for acknowledge and resolve")
        if errors:
            return _answer(
                400,
                {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
            )
        alert = self.pagerduty.get(key)
        if action == "trigger":
            if alert is None or alert.status == "resolved":
                alert = self.pagerduty[key] = Alert(key, "triggered", data=event)
            else:
                alert.count += 1
        elif alert is not None and alert.status != "resolved":
            alert.status = "acknowledged" if action == "acknowledge" else "resolved"
        if alert is not None:
            alert.actions.append(action)
        return _answer(202, {"status": "success", "message": "Event processed", "dedup_key": key})

    def _ntfy(self, request: web.Request, r: Request) -> web.Response:
        topic = r.path.strip("/")
        if request.method not in ("POST", "PUT") or not topic or "/" in topic:
            return _answer(404, {"code": 40401, "http": 404, "error": "page not found"})
        if topic == PROTECTED_TOPIC and r.headers.get("Authorization") != f"Bearer {NTFY_TOKEN}":
            return _answer(
                401,
                {
                    "code": 40101,
                    "http": 401,
                    "error": "unauthorized",
                    "link": "https://ntfy.sh/docs/publish/#authentication",
                },
            )
        if len(r.body) > NTFY_MESSAGE_LIMIT:  # a server without an attachment cache
            return _answer(413, {"code": 41301, "http": 413, "error": "attachments not allowed"})

        def header(name: str) -> str:
            raw = r.headers.get(name, "")
            return str(email.header.make_header(email.header.decode_header(raw)))

        priority = header("Priority") or "3"
        if priority not in {
            "1",
            "2",
            "3",
            "4",
            "5",
            "min",
            "low",
            "default",
            "high",
            "max",
            "urgent",
        }:
            return _answer(400, {"code": 40007, "http": 400, "error": "invalid priority"})
        message = {
            "id": uuid.uuid4().hex[:12],
            "time": int(time.time()),
            "expires": int(time.time()) + 43200,
            "event": "message",
            "topic": topic,
            "title": header("Title"),
            "message": r.body.decode(),
            "priority": int(priority) if priority.isdigit() else 3,
            "tags": [t for t in header("Tags").split(",") if t],
            "click": header("Click"),
        }
        r.parsed = message
        return _answer(200, message)

    def _discord(self, request: web.Request, r: Request) -> web.Response:
        if r.path.rsplit("/", 1)[-1] != DISCORD_TOKEN:
            return _answer(401, {"message": "Invalid Webhook Token", "code": 50027})
        body = r.json()
        errors: dict[str, Any] = {}
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            errors["embeds"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}
        for i, e in enumerate(embeds):
            for name, limit in (("title", 256), ("description", 4096)):
                if len(e.get(name) or "") > limit:
                    errors[f"embeds.{i}.{name}"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}
            fields = e.get("fields") or []
            if len(fields) > 25 or any(
                len(f.get("value", "")) > 1024 or len(f.get("name", "")) > 256 for f in fields
            ):
                errors[f"embeds.{i}.fields"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}
        for i, e in enumerate(embeds):  # the texts of an embed together: 6,000 characters
            texts = [e.get("title"), e.get("description"), (e.get("footer") or {}).get("text")]
            texts += [f.get(k) for f in e.get("fields") or [] for k in ("name", "value")]
            if sum(len(t or "") for t in texts) > 6000:
                errors[f"embeds.{i}"] = {"_errors": [{"code": "MAX_EMBED_SIZE_EXCEEDED"}]}
        if not embeds and not body.get("content"):
            return _answer(400, {"message": "Cannot send an empty message", "code": 50006})
        if errors:
            return _answer(400, {"code": 50035, "errors": errors, "message": "Invalid Form Body"})
        r.parsed = body
        if request.query.get("wait") != "true":
            return web.Response(status=204)
        return _answer(
            200,
            {
                "id": str(10**17 + len(self.requests)),
                "type": 0,
                "channel_id": "55",
                "webhook_id": "112233445566",
                "content": body.get("content", ""),
                "embeds": embeds,
            },
        )

    def _teams(self, request: web.Request, r: Request) -> web.Response:
        if r.path.strip("/") != TEAMS_PATH:
            return web.Response(status=404, text="Webhook not found")
        if len(r.body) > TEAMS_MESSAGE_LIMIT:
            return web.Response(status=413, text="Message size exceeds the 28 KB limit.")
        try:
            body = r.json()
        except ValueError:
            return web.Response(
                status=400, text="Bad payload received by generic incoming webhook."
            )
        cards = [
            a
            for a in body.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]
        card = cards[0].get("content") if cards else None
        if (
            body.get("type") != "message"
            or not isinstance(card, dict)
            or card.get("type") != "AdaptiveCard"
            or not card.get("body")
        ):
            return web.Response(status=400, text="Summary or Text is required.")
        r.parsed = card
        return web.Response(status=200, text="1")

    def _telegram(self, request: web.Request, r: Request) -> web.Response:
        token, _, method = r.path[len("/bot") :].partition("/")
        if token != TELEGRAM_TOKEN:
            return _answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if method != "sendMessage":
            return _answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        body = r.json()
        if str(body.get("chat_id")) != TELEGRAM_CHAT:
            return _answer(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            )
        text = body.get("text") or ""
        if body.get("parse_mode") == "HTML":
            error, plain = telegram_parse(text)
            if error:
                return _answer(
                    400,
                    {
                        "ok": False,
                        "error_code": 400,
                        "description": f"Bad Request: can't parse entities: {error}",
                    },
                )
        else:
            plain = text
        if not plain.strip():
            return _answer(
                400,
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                },
            )
        if len(plain) > 4096:
            return _answer(
                400,
                {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
            )
        r.parsed = plain
        return _answer(
            200,
            {
                "ok": True,
                "result": {
                    "message_id": len(self.requests),
                    "date": int(time.time()),
                    "chat": {"id": int(TELEGRAM_CHAT), "type": "supergroup"},
                    "text": plain,
                },
            },
        )

    def _opsgenie(self, request: web.Request, r: Request) -> web.Response:
        took = {"took": 0.002, "requestId": str(uuid.uuid4())}
        if r.headers.get("Authorization") != f"GenieKey {OPSGENIE_KEY}":
            return _answer(401, {"message": "Could not authenticate", **took})
        body = r.json() if r.body else {}
        # v2 alerts [identifier action]; the alias is percent-encoded in the raw path
        parts = [unquote(p) for p in request.raw_path.split("?")[0].strip("/").split("/")]
        if len(parts) == 2:
            message = (body.get("message") or "").strip()
            if not message:
                return _answer(
                    422,
                    {
                        "message": "Request body is not processable. Please check the errors.",
                        "errors": {"message": "Message can not be empty."},
                        **took,
                    },
                )
            details = body.get("details") or {}
            in_details = sum(len(k) + len(str(v)) for k, v in details.items())
            too_long = len(body.get("description") or "") > 15000 or in_details > 8000
            if len(message) > 130 or len(body.get("alias") or "") > 512 or too_long:
                return _answer(
                    422,
                    {
                        "message": "Request body is not processable. Please check the errors.",
                        "errors": {"message": "too long"},
                        **took,
                    },
                )
            alias = body.get("alias") or uuid.uuid4().hex
            alert = self.opsgenie.get(alias)
            if alert is None or alert.status == "closed":
                alert = self.opsgenie[alias] = Alert(alias, "open", data=body)
            else:
                alert.count += 1
            alert.actions.append("create")
        elif len(parts) == 4 and parts[3] in ("close", "acknowledge", "notes"):
            if request.query.get("identifierType") != "alias":
                return _answer(404, {"message": "Alert does not exist", **took})
            alert = self.opsgenie.get(parts[2])
            if alert is not None:
                alert.actions.append(parts[3])
                if parts[3] == "close":
                    alert.status = "closed"
                elif parts[3] == "acknowledge" and alert.status == "open":
                    alert.status = "acknowledged"
        else:
            return _answer(404, {"message": "Not found", **took})
        return _answer(202, {"result": "Request will be processed", **took})


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    if isinstance(body, str):
        return web.Response(status=status, text=body, headers=headers)
    return web.Response(
        status=status, text=json.dumps(body), headers=headers, content_type="application/json"
    )


def pagerduty_webhook_body(event_type: str, incident_key: str, who: str) -> bytes:
    """A PagerDuty v3 webhook payload for an incident event, as PagerDuty sends it."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    number = abs(hash(incident_key)) % 1000
    return json.dumps(
        {
            "event": {
                "id": str(uuid.uuid4()),
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": now,
                "agent": {
                    "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
                    "id": "PLH1HKV",
                    "self": "https://api.pagerduty.com/users/PLH1HKV",
                    "summary": who,
                    "type": "user_reference",
                },
                "client": {"name": "PagerDuty"},
                "data": {
                    "id": "PGR0VU2",
                    "type": "incident",
                    "self": "https://api.pagerduty.com/incidents/PGR0VU2",
                    "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
                    "number": number,
                    "status": event_type.rsplit(".", 1)[-1],
                    "incident_key": incident_key,
                    "created_at": now,
                    "title": "prodshield incident",
                    "urgency": "high",
                    "resolve_reason": None,
                },
            }
        }
    ).encode()


def post_signed(url: str, body: bytes, secrets: list[str]) -> tuple[int, Any]:
    """POST ``body`` signed with each secret (comma-separated ``v1=`` entries)."""
    import hashlib
    import hmac
    import urllib.error
    import urllib.request

    signature = ",".join(
        "v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets
    )
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "PagerDuty-Webhook/V3.0",
            "X-PagerDuty-Signature": signature,
            "X-Webhook-Id": str(uuid.uuid4()),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read() or b"null")
