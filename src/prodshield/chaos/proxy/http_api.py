"""The Toxiproxy v2 REST API (exact paths, status codes, JSON shapes and errors) and /metrics,
and the API's HTTP connections (header- and body-read deadlines; JSON errors for unparsable
requests)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from prodshield import __version__, exposition
from prodshield.chaos.proxy import metrics
from prodshield.chaos.proxy.model import (
    BODY_TIMEOUT_ERROR,
    TOXIC_NOT_FOUND,
    ApiError,
    decode_body,
    parse_toxic,
)
from prodshield.chaos.proxy.server import ProxyCollection

# A connection must send a whole request head within this long of opening (or of its previous
# response), else it is closed: serve's default (serve.limits.header_timeout).
HEADER_TIMEOUT = 10.0
# A request's body must arrive whole within this long of its head, else the request is answered
# 408 and the connection closed; a body the API does not read is drained for as long, then the
# connection closed (aiohttp's lingering time).
BODY_TIMEOUT = 10.0

# What GET /version reports: the Toxiproxy API level we speak, and who speaks it.
TOXIPROXY_API_VERSION = "2.12.0"
VERSION = f"{TOXIPROXY_API_VERSION}+prodshield.{__version__}"

# set on a request whose body did not arrive in time
BODY_TIMED_OUT = web.RequestKey("body_timed_out", bool)

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type="application/json")


def _error(exc: ApiError) -> web.Response:
    """As Go's http.Error: the JSON error, a newline, text/plain."""
    body = (json.dumps(exc.to_json(), separators=(",", ":")) + "\n").encode()
    return web.Response(
        body=body,
        status=exc.status,
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


def _text(text: str, status: int) -> web.Response:
    return web.Response(
        body=text.encode(),
        status=status,
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


class ToxiproxyApi:
    """Request handling for one ``ProxyCollection``."""

    def __init__(self, collection: ProxyCollection, body_timeout: float = BODY_TIMEOUT) -> None:
        self.collection = collection
        self.body_timeout = body_timeout
        self.metrics = metrics.registry_for(collection)
        seg = r"(?P<{}>[^/]+)"
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile(r"/reset"), {"POST": self.reset}),
            (re.compile(r"/proxies"), {"GET": self.proxy_index, "POST": self.proxy_create}),
            (re.compile(r"/populate"), {"POST": self.populate}),
            (
                re.compile(r"/proxies/" + seg.format("proxy")),
                {
                    "GET": self.proxy_show,
                    "POST": self.proxy_update,
                    "PATCH": self.proxy_update,
                    "DELETE": self.proxy_delete,
                },
            ),
            (
                re.compile(r"/proxies/" + seg.format("proxy") + "/toxics"),
                {"GET": self.toxic_index, "POST": self.toxic_create},
            ),
            (
                re.compile(r"/proxies/" + seg.format("proxy") + "/toxics/" + seg.format("toxic")),
                {
                    "GET": self.toxic_show,
                    "POST": self.toxic_update,
                    "PATCH": self.toxic_update,
                    "DELETE": self.toxic_delete,
                },
            ),
            (re.compile(r"/version"), {"GET": self.version}),
            (re.compile(r"/metrics"), {"GET": self.metrics_page}),
        ]

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 << 20)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("User-Agent", "").startswith("Mozilla/"):
            return _text("User agent not allowed\n", 403)
        path = request.path
        for pattern, methods in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                return web.Response(status=405)
            response: web.StreamResponse
            try:
                response = await handler(request, match.groupdict())
            except ApiError as exc:
                response = _error(exc)
            if request.get(BODY_TIMED_OUT):
                response.force_close()  # the rest of the body is not waited for
            return response
        return _text("404 page not found\n", 404)

    async def _body(self, request: web.Request) -> Any:
        """The request's JSON body, read within ``body_timeout`` s (``request body timeout``,
        408, and the connection closed, when a client sends it too slowly)."""
        try:
            raw = await asyncio.wait_for(request.read(), self.body_timeout)
        except TimeoutError:
            request[BODY_TIMED_OUT] = True
            raise BODY_TIMEOUT_ERROR from None
        return decode_body(raw)

    # -- proxies --------------------------------------------------------------------------------
    async def proxy_index(self, request: web.Request, args: dict[str, str]) -> web.Response:
        # Go marshals a map with its keys sorted
        proxies = sorted(self.collection.proxies.values(), key=lambda p: p.name)
        return _json({p.name: p.to_json() for p in proxies})

    async def proxy_create(self, request: web.Request, args: dict[str, str]) -> web.Response:
        proxy = await self.collection.create(await self._body(request))
        return _json(proxy.to_json(), 201)

    async def populate(self, request: web.Request, args: dict[str, str]) -> web.Response:
        try:
            proxies = await self.collection.populate(await self._body(request))
        except ApiError as exc:
            return _json({**exc.to_json(), "proxies": None}, exc.status)
        # as Go, an empty result is a nil slice: null
        return _json({"proxies": [p.to_json() for p in proxies] or None}, 201)

    async def proxy_show(self, request: web.Request, args: dict[str, str]) -> web.Response:
        return _json(self.collection.get(args["proxy"]).to_json())

    async def proxy_update(self, request: web.Request, args: dict[str, str]) -> web.Response:
        self.collection.get(args["proxy"])
        proxy = await self.collection.update(args["proxy"], await self._body(request))
        return _json(proxy.to_json())

    async def proxy_delete(self, request: web.Request, args: dict[str, str]) -> web.Response:
        self.collection.delete(args["proxy"])
        return web.Response(status=204)

    async def reset(self, request: web.Request, args: dict[str, str]) -> web.Response:
        await self.collection.reset()
        return web.Response(status=204)

    # -- toxics ---------------------------------------------------------------------------------
    async def toxic_index(self, request: web.Request, args: dict[str, str]) -> web.Response:
        return _json(self.collection.get(args["proxy"]).toxics_json())

    async def toxic_create(self, request: web.Request, args: dict[str, str]) -> web.Response:
        proxy = self.collection.get(args["proxy"])
        config = proxy.add_toxic(parse_toxic(await self._body(request)))
        return _json(config.to_json())

    async def toxic_show(self, request: web.Request, args: dict[str, str]) -> web.Response:
        config = self.collection.get(args["proxy"]).find_toxic(args["toxic"])
        if config is None:
            raise TOXIC_NOT_FOUND
        return _json(config.to_json())

    async def toxic_update(self, request: web.Request, args: dict[str, str]) -> web.Response:
        proxy = self.collection.get(args["proxy"])
        if proxy.find_toxic(args["toxic"]) is None:
            raise TOXIC_NOT_FOUND
        config = proxy.update_toxic(args["toxic"], await self._body(request))
        return _json(config.to_json())

    async def toxic_delete(self, request: web.Request, args: dict[str, str]) -> web.Response:
        self.collection.get(args["proxy"]).remove_toxic(args["toxic"])
        return web.Response(status=204)

    # -- misc -----------------------------------------------------------------------------------
    async def version(self, request: web.Request, args: dict[str, str]) -> web.Response:
        return web.Response(
            body=f'{{"version": "{VERSION}"}}\n'.encode(),
            headers={"Content-Type": "application/json;charset=utf-8"},
        )

    async def metrics_page(self, request: web.Request, args: dict[str, str]) -> web.Response:
        return web.Response(
            body=exposition.render(self.metrics), headers={"Content-Type": exposition.CONTENT_TYPE}
        )


class ApiConnection(RequestHandler):
    """One HTTP connection to the API: aiohttp's, with a header-read deadline (a client that never
    finishes its request head, slowloris, is closed after ``header_timeout`` s, as serve does) and
    requests aiohttp cannot parse answered in the API's ``{"error", "status"}`` shape (431 for an
    oversized request or header line, 400 otherwise) instead of aiohttp's plain text. A slow body
    is bounded by the API (:meth:`ToxiproxyApi._body`) and by aiohttp's ``lingering_time``."""

    def __init__(self, *args: Any, header_timeout: float = HEADER_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._messages:
            self._disarm()  # a whole head is in (or a parse error): the API's time, not the client's

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        result = await super().finish_response(request, resp, start_time)
        if not self._messages:
            self._arm()  # the next request on a keep-alive connection has the same deadline
        return result

    def _arm(self) -> None:
        self._disarm()
        self._deadline = asyncio.get_running_loop().call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self._request_in_progress or self._messages or self.transport is None:
            return
        self.transport.close()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if isinstance(exc, LineTooLong):
            error = ApiError("request header fields too large", 431)
        elif isinstance(exc, HttpProcessingError):
            error = ApiError("bad request: malformed HTTP request", 400)
        else:  # aiohttp logs it (and refuses when a response has started)
            super().handle_error(request, status, exc, message)
            error = ApiError("internal server error", status)
        response = _error(error)
        response.force_close()
        return response
