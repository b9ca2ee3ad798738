"""The status page's public subscription endpoints: subscribe, confirm, unsubscribe.

Anyone may call them, so each is bounded: a small body, a per-client hourly budget
(``serve.subscriptions.per_client_per_hour``), a cap on subscriptions, addresses validated and
webhook hosts resolved (no private or local address unless the operator allows it), and the same
answer whether or not the address was already subscribed. The confirm and unsubscribe links
answer a GET with a page holding a button (mail scanners follow links; only a POST acts).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from prodshield.notify import subscribers as subs
from prodshield.text import loads_json
from prodshield.web.context import ctx_of

MAX_BODY = 8192
MAX_TRACKED = 10_000


class ClientBudget:
    """At most ``per_hour`` requests per client address in the last hour (bounded memory)."""

    def __init__(self) -> None:
        self.seen: dict[str, deque[float]] = defaultdict(deque)

    def take(self, client: str, per_hour: int, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if client not in self.seen and len(self.seen) >= MAX_TRACKED:
            for key in [k for k, w in self.seen.items() if not w or w[-1] < now - 3600]:
                del self.seen[key]
            if len(self.seen) >= MAX_TRACKED:  # a flood of addresses: refuse newcomers
                return False
        window = self.seen[client]
        while window and window[0] < now - 3600:
            window.popleft()
        if len(window) >= per_hour:
            return False
        window.append(now)
        return True


def _budget(request: Request) -> ClientBudget:
    state = request.app.state
    if not hasattr(state, "subscribe_budget"):
        state.subscribe_budget = ClientBudget()
    budget: ClientBudget = state.subscribe_budget
    return budget


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("content-type", "") or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


def _answer(request: Request, status: int, message: str, **extra: Any) -> Response:
    if _wants_json(request):
        key = "message" if status < 400 else "error"
        return JSONResponse({key: message, **extra}, status_code=status)
    ctx = ctx_of(request)
    html = ctx.render("subscription.html", message=message, status=status, form=None)
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


async def _fields(request: Request) -> dict[str, str] | Response:
    """The request's fields (JSON object or form), at most MAX_BODY bytes."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return _answer(request, 413, "the request is too large")
    if "application/json" in request.headers.get("content-type", ""):
        try:
            data = loads_json(raw or b"{}", 4)
        except (ValueError, UnicodeDecodeError):
            return _answer(request, 400, "the body is not JSON")
        if not isinstance(data, dict):
            return _answer(request, 400, "the body must be a JSON object")
        return {str(k): v for k, v in data.items() if isinstance(v, str)}
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(raw.decode("utf-8"), max_num_fields=10)
    except (ValueError, UnicodeDecodeError):
        return _answer(request, 400, "the form cannot be read")
    return dict(pairs)


def _off(request: Request) -> Response | None:
    if not ctx_of(request).loaded.config.serve.subscriptions.enabled:
        return _answer(request, 404, "this status page takes no subscriptions")
    return None


async def subscribe(request: Request) -> Response:
    off = _off(request)
    if off is not None:
        return off
    ctx = ctx_of(request)
    settings = ctx.loaded.config.serve.subscriptions
    fields = await _fields(request)
    if isinstance(fields, Response):
        return fields
    if not _budget(request).take(ctx.guard.client(request), settings.per_client_per_hour):
        return _answer(request, 429, "too many subscription requests: try again in an hour")
    email, webhook = fields.get("email", "").strip(), fields.get("webhook", "").strip()
    try:
        if bool(email) == bool(webhook):
            raise subs.SubscriptionError("give either an email address or a webhook URL")
        if email:
            if settings.email is None:
                raise subs.SubscriptionError("this status page takes no email subscriptions")
            kind, target = "email", subs.check_email(email)
        else:
            if not settings.webhooks:
                raise subs.SubscriptionError("this status page takes no webhook subscriptions")
            target, host, port = subs.check_webhook_url(webhook)
            await subs.resolve_allowed(host, port, settings.allow_private_targets)
            kind = "webhook"
        await ctx.writes.run(
            subs.subscribe,
            ctx.store,
            ctx.loaded.config,
            kind,
            target,
            client=ctx.guard.client(request),
        )
    except subs.SubscriptionError as exc:
        return _answer(request, 400, str(exc))
    except subs.SubscriptionsFull:
        return _answer(request, 503, "this status page takes no more subscriptions")
    where = "inbox" if kind == "email" else "endpoint"
    return _answer(
        request,
        202,
        f"Almost done: a confirmation was sent to that {where}. Nothing else is sent until it is "
        "confirmed.",
        state="pending",
    )


def _token_page(request: Request, action: str) -> Response:
    off = _off(request)
    if off is not None:
        return off
    ctx = ctx_of(request)
    token = request.query_params.get("token", "")[:200]
    verb = "Confirm the subscription" if action == "confirm" else "Unsubscribe"
    form = {"action": f"/status/{action}", "token": token, "verb": verb}
    html = ctx.render("subscription.html", message=None, status=200, form=form)
    return HTMLResponse(html, headers={"cache-control": "no-store"})


async def _token_action(request: Request, action: str) -> Response:
    off = _off(request)
    if off is not None:
        return off
    ctx = ctx_of(request)
    fields = await _fields(request)
    if isinstance(fields, Response):
        return fields
    # the token from the form, or from the link itself (RFC 8058 one-click unsubscribe posts
    # List-Unsubscribe=One-Click to the URL in the mail's header)
    token = (fields.get("token") or request.query_params.get("token", ""))[:200]
    try:
        if action == "confirm":
            done = await ctx.writes.run(subs.confirm, ctx.store, token, config=ctx.loaded.config)
        else:
            done = await ctx.writes.run(subs.unsubscribe, ctx.store, token)
    except subs.SubscriptionsFull:
        return _answer(request, 503, "this status page takes no more subscriptions")
    if not done:
        return _answer(request, 404, "this link is not valid (any more)")
    if action == "confirm":
        return _answer(request, 200, "Subscribed: you will hear about incidents.", state="ok")
    return _answer(request, 200, "Unsubscribed: nothing more will be sent.", state="ok")


async def confirm_page(request: Request) -> Response:
    return _token_page(request, "confirm")


async def unsubscribe_page(request: Request) -> Response:
    return _token_page(request, "unsubscribe")


async def confirm(request: Request) -> Response:
    return await _token_action(request, "confirm")


async def unsubscribe(request: Request) -> Response:
    return await _token_action(request, "unsubscribe")


routes = [
    Route("/status/subscribe", subscribe, methods=["POST"]),
    Route("/status/confirm", confirm_page, methods=["GET"]),
    Route("/status/confirm", confirm, methods=["POST"]),
    Route("/status/unsubscribe", unsubscribe_page, methods=["GET"]),
    Route("/status/unsubscribe", unsubscribe, methods=["POST"]),
]
