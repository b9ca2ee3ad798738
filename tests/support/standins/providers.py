"""Loopback stand-ins for the identity calls of the providers whose secrets prodshield verifies.

One aiohttp server per provider (so a test sees which host received which secret), each speaking
the provider's real answers for that one call, including the misleading ones:

- GitHub ``GET /user``: 200 with ``login``; 401 ``Bad credentials``; 403 with
  ``x-ratelimit-remaining: 0`` (the primary rate limit is a 403, not a 429).
- GitLab ``GET /api/v4/personal_access_tokens/self`` (``PRIVATE-TOKEN``): 200 token description;
  401 ``invalid_token`` "Token was revoked"; 401 ``401 Unauthorized``; 403 ``insufficient_scope``;
  429 plain text with ``Retry-After``.
- Slack ``POST /api/auth.test``: HTTP 200 for every token, ``{"ok": false, "error":
  "invalid_auth"}`` or ``token_revoked`` in the body; 429 with ``Retry-After``.
- Stripe ``GET /v1/account``: 200 account; 401 "Invalid API Key provided: sk_live_****..."; 403 for
  a restricted key without ``rak_accounts_kyc_id_numbers_read``; 429 ``rate_limit``.
- OpenAI ``GET /v1/models``: 200 list; 401 ``invalid_api_key``; 429 ``insufficient_quota`` (a
  working key without credit) and 429 ``rate_limit_exceeded``.
- SendGrid ``GET /v3/scopes``: 200 scopes; 401 "authorization required"; 403 "access forbidden";
  429 "too many requests".
- npm ``GET /-/whoami``: 200 ``{"username": ...}``; 401; and, scripted, a registry that answers
  200 ``{}`` to anyone.

A token's state is set with :meth:`ProviderStandins.set` (``live``, ``revoked``, ``restricted``,
``quota``, ``no_scope``; anything unknown gets the provider's invalid answer). :meth:`mode`
scripts a whole provider: ``rate_limited``, ``error`` (503), ``hang`` (answers after 30 s),
``anyone`` (npm: 200 ``{}``). ``requests`` logs (provider, method, path, credential) and
``max_in_flight`` the most requests one provider served at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[["ProviderStandins", str, str], Awaitable[web.Response]]


def _json(status: int, body: Any, **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


async def _github(s: ProviderStandins, token: str, state: str) -> web.Response:
    limits = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-used": "1",
        "x-ratelimit-reset": "1893456000",
    }
    if s.modes.get("github") == "rate_limited":
        return _json(403, {"message": "API rate limit exceeded for user ID 1.",
                           "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                     **limits, **{"x-ratelimit-remaining": "0"})  # fmt: skip
    if state == "live":
        return _json(200, {"login": "octo-dev", "id": 1, "type": "User", "site_admin": False},
                     **limits, **{"x-ratelimit-remaining": "4999", "x-oauth-scopes": "repo"})  # fmt: skip
    return _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                       "status": "401"})  # fmt: skip


async def _gitlab(s: ProviderStandins, token: str, state: str) -> web.Response:
    if s.modes.get("gitlab") == "rate_limited":
        return web.Response(status=429, text="Retry later\n",
                            headers={"Retry-After": "60", "RateLimit-Remaining": "0"})  # fmt: skip
    if state == "live":
        return _json(200, {"id": 4, "name": "deploy", "revoked": False, "active": True,
                           "scopes": ["api"], "user_id": 3, "expires_at": "2027-06-01",
                           "created_at": "2026-01-01T00:00:00.000Z"})  # fmt: skip
    if state == "no_scope":
        return _json(403, {"error": "insufficient_scope", "scope": "api read_api",
                           "error_description": "The request requires higher privileges than provided by the access token."})  # fmt: skip
    if state == "revoked":
        return _json(401, {"error": "invalid_token",
                           "error_description": "Token was revoked. You have to re-authorize from the user."})  # fmt: skip
    return _json(401, {"message": "401 Unauthorized"})


async def _slack(s: ProviderStandins, token: str, state: str) -> web.Response:
    if s.modes.get("slack") == "rate_limited":
        return _json(429, {"ok": False, "error": "ratelimited"}, **{"Retry-After": "30"})
    if state == "live":
        return _json(200, {"ok": True, "url": "https://acme.slack.com/", "team": "Acme",
                           "user": "deploybot", "team_id": "T0001", "user_id": "U0001",
                           "bot_id": "B0001", "is_enterprise_install": False})  # fmt: skip
    # Slack's misleading answer: HTTP 200, the verdict is in the body.
    return _json(
        200, {"ok": False, "error": "token_revoked" if state == "revoked" else "invalid_auth"}
    )


async def _stripe(s: ProviderStandins, token: str, state: str) -> web.Response:
    if s.modes.get("stripe") == "rate_limited":
        return _json(429, {"error": {"code": "rate_limit", "type": "invalid_request_error",
                                     "message": "Too many requests hit the API too quickly."}})  # fmt: skip
    masked = token[:8] + "*" * 8 + token[-4:]
    if state == "live":
        return _json(
            200, {"id": "acct_1Pq2Rs3Tu4Vw5Xy", "object": "account", "charges_enabled": True}
        )
    if state == "restricted":
        return _json(403, {"error": {"type": "invalid_request_error", "message":
            f"The provided key '{masked}' does not have the required permissions for this endpoint "
            "on account 'acct_1Pq2Rs3Tu4Vw5Xy'. Having the 'rak_accounts_kyc_id_numbers_read' "
            "permission would allow this request to continue."}})  # fmt: skip
    return _json(401, {"error": {"type": "invalid_request_error",
                                 "message": f"Invalid API Key provided: {masked}"}})  # fmt: skip


async def _openai(s: ProviderStandins, token: str, state: str) -> web.Response:
    if s.modes.get("openai") == "rate_limited":
        return _json(429, {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                     "param": None, "code": "rate_limit_exceeded"}},
                     **{"retry-after": "20"})  # fmt: skip
    if state == "live":
        return _json(200, {"object": "list", "data": [{"id": "gpt-4o", "object": "model",
                                                       "created": 1715367049, "owned_by": "system"}]})  # fmt: skip
    if state == "quota":
        return _json(429, {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                                     "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}})  # fmt: skip
    return _json(401, {"error": {"message": f"Incorrect API key provided: {token[:8]}****{token[-4:]}.",
                                 "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}})  # fmt: skip


async def _sendgrid(s: ProviderStandins, token: str, state: str) -> web.Response:
    if s.modes.get("sendgrid") == "rate_limited":
        return _json(429, {"errors": [{"field": None, "message": "too many requests"}]},
                     **{"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0"})  # fmt: skip
    if state == "live":
        return _json(200, {"scopes": ["mail.send", "user.profile.read"]})
    if state == "restricted":
        return _json(403, {"errors": [{"field": None, "message": "access forbidden"}]})
    return _json(401, {"errors": [{"field": None, "message": "authorization required"}]})


async def _npm(s: ProviderStandins, token: str, state: str) -> web.Response:
    if s.modes.get("npm") == "huge":  # a hostile registry: 1 MiB of JSON
        return web.Response(status=200, content_type="application/json",
                            text='{"username": "' + "u" * (1 << 20) + '"}')  # fmt: skip
    if s.modes.get("npm") == "anyone":
        return _json(200, {})  # a registry that answers 200 to every token
    if s.modes.get("npm") == "rate_limited":
        return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "10"})
    if state == "live":
        return _json(200, {"username": "deployer"})
    return _json(401, {"error": "Unauthorized"})


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    credential: Callable[[web.Request], str]
    handler: Handler


def _bearer(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth[7:] if auth.startswith("Bearer ") else ""


ROUTES: dict[str, Route] = {
    "github": Route("GET", "/user", _bearer, _github),
    "gitlab": Route(
        "GET",
        "/api/v4/personal_access_tokens/self",
        lambda r: r.headers.get("PRIVATE-TOKEN", ""),
        _gitlab,
    ),
    "slack": Route("POST", "/api/auth.test", _bearer, _slack),
    "stripe": Route("GET", "/v1/account", _bearer, _stripe),
    "openai": Route("GET", "/v1/models", _bearer, _openai),
    "sendgrid": Route("GET", "/v3/scopes", _bearer, _sendgrid),
    "npm": Route("GET", "/-/whoami", _bearer, _npm),
}


@dataclass
class ProviderStandins:
    tokens: dict[str, str] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, str, str]] = field(default_factory=list)
    base_urls: dict[str, str] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    _in_flight: dict[str, int] = field(default_factory=dict)
    _runners: list[web.AppRunner] = field(default_factory=list)

    def set(self, token: str, state: str) -> None:
        self.tokens[token] = state

    def mode(self, provider: str, mode: str | None) -> None:
        if mode is None:
            self.modes.pop(provider, None)
        else:
            self.modes[provider] = mode

    def received(self, provider: str) -> list[str]:
        """The credentials one provider's host was sent."""
        return [cred for name, _, _, cred in self.requests if name == provider]

    def _app(self, provider: str, route: Route) -> web.Application:
        async def handle(request: web.Request) -> web.StreamResponse:
            credential = route.credential(request)
            self.requests.append((provider, request.method, request.path, credential))
            if request.method != route.method or request.path != route.path:
                return _json(404, {"message": "Not Found"})
            self._in_flight[provider] = self._in_flight.get(provider, 0) + 1
            self.max_in_flight[provider] = max(
                self.max_in_flight.get(provider, 0), self._in_flight[provider]
            )
            try:
                await asyncio.sleep(0.05)  # long enough for concurrent requests to overlap
                if self.modes.get(provider) == "hang":
                    await asyncio.sleep(30)
                if self.modes.get(provider) == "error":
                    return web.Response(status=503, text="upstream unavailable")
                return await route.handler(self, credential, self.tokens.get(credential, ""))
            finally:
                self._in_flight[provider] -= 1

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        return app

    async def start(self) -> None:
        for provider, route in ROUTES.items():
            runner = web.AppRunner(self._app(provider, route), shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            self.base_urls[provider] = f"http://127.0.0.1:{port}"
            self._runners.append(runner)

    async def close(self) -> None:
        for runner in self._runners:
            await runner.cleanup()

    @classmethod
    @contextmanager
    def in_thread(cls) -> Iterator[ProviderStandins]:
        """All stand-ins on one event loop in a thread (for synchronous tests and subprocesses)."""
        standins = cls()
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(standins.start())
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=run, daemon=True, name="provider-standins")
        thread.start()
        if not ready.wait(10):
            raise RuntimeError("provider stand-ins did not start")
        try:
            yield standins
        finally:
            asyncio.run_coroutine_threadsafe(standins.close(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    def shield_yaml(self, *, extra: str = "") -> str:
        """An ``audit.secrets.verify`` section pointing every provider at its stand-in."""
        urls = "".join(f"          {name}: {url}\n" for name, url in self.base_urls.items())
        return (
            "audit:\n  secrets:\n    verify:\n      enabled: true\n      timeout: 2\n"
            f"      base_urls:\n{urls}{extra}"
        )
