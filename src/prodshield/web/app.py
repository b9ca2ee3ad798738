"""The Starlette application: :func:`create_app` wires the store, the config and the hooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from prodshield.config import LoadedConfig
from prodshield.store import Store
from prodshield.web import api, pages
from prodshield.web.aggregates import AggregateCache
from prodshield.web.context import STATIC, WebContext, make_templates
from prodshield.web.metrics import WebMetrics
from prodshield.web.microcache import ResponseCache
from prodshield.web.queries import ReadModel
from prodshield.web.security import SECURITY_HEADERS, Guard
from prodshield.web.services import Services

log = logging.getLogger(__name__)
STOP_TIMEOUT = 10.0


class SecurityHeaders:
    """Adds the content security policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                present = {k.lower() for k, _ in message["headers"]}
                message["headers"] = list(message["headers"]) + [
                    (k, v) for k, v in self.headers if k not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def apply_config(app: Starlette, loaded: LoadedConfig) -> None:
    """Switch a running app to a newly loaded (already validated) config.

    The store stays the same (a new ``storage:`` needs a restart); the aggregate cache is kept.
    """
    ctx: WebContext = app.state.ctx
    model = ReadModel(ctx.store, loaded.config, ctx.model.cache)
    ctx.loaded = loaded
    ctx.model = model
    ctx.metrics.bind(model, ctx.services.scheduler_lag)
    ctx.responses.invalidate()
    for hook in ctx.services.on_reload:
        hook(loaded)


def _prewarm(model: ReadModel) -> None:
    try:
        model.cache.refresh()
    except Exception as exc:  # the store is down: the first request will say so
        log.info("aggregates not preloaded: %s", exc)


def create_app(
    loaded_config: LoadedConfig,
    store: Store,
    *,
    token: str,
    services: Services | None = None,
    cache: AggregateCache | None = None,
    response_ttl: float = 5.0,
) -> Starlette:
    """The web app over ``store`` for ``loaded_config``; ``token`` guards the dashboard and writes.

    ``services.background`` tasks are started in the lifespan and stopped (drained) at shutdown.
    """
    services = services or Services()
    model = ReadModel(store, loaded_config.config, cache)
    metrics = WebMetrics()
    metrics.bind(model, services.scheduler_lag)
    ctx = WebContext(
        loaded=loaded_config,
        store=store,
        model=model,
        guard=Guard(token),
        services=services,
        templates=make_templates(),
        metrics=metrics,
        responses=ResponseCache(response_ttl),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        for service in services.background:
            tasks.append(asyncio.create_task(service.run(stop), name=service.name))
        if services.background:
            # Load the aggregates now rather than in the first visitor's request (seconds for
            # thousands of checks); a request meanwhile waits for this load, not a second one.
            threading.Thread(
                target=_prewarm, args=(model,), name="prodshield-prewarm", daemon=True
            ).start()
        ctx.ready = True
        try:
            yield
        finally:
            ctx.ready = False
            stop.set()
            if tasks:
                done, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
                for task in pending:
                    log.warning("background service %s did not stop in time", task.get_name())
                    task.cancel()
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        log.warning(
                            "background service %s failed: %s", task.get_name(), task.exception()
                        )

    app = Starlette(
        routes=[
            *api.routes,
            *pages.routes,
            Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    return app
