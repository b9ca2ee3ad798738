"""The Starlette application: :func:`create_app` wires the store, the config and the hooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from prodshield.config import LoadedConfig
from prodshield.monitor.aggregates import AggregateCache
from prodshield.monitor.read import ReadModel
from prodshield.store import Store
from prodshield.web import api, hooks, pages, public, subscribe
from prodshield.web.context import STATIC, Templates, WebContext
from prodshield.web.metrics import WebMetrics
from prodshield.web.microcache import ResponseCache
from prodshield.web.security import SECURITY_HEADERS, Guard
from prodshield.web.services import BackgroundService, Services
from prodshield.web.work import Overloaded, PageWork, Probe, write_work

log = logging.getLogger(__name__)
STOP_TIMEOUT = 10.0


class SecurityHeaders:
    """Adds the content security policy and friends to every response; a client that hung up
    while its body was read ends its request quietly."""

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

        try:
            await self.app(scope, receive, send_with_headers)
        except ClientDisconnect:
            # the client left while its body was being read: nobody to answer, nothing wrong
            # here (a traceback in serve's log for it would hide real errors)
            return


def apply_config(app: Starlette, loaded: LoadedConfig) -> None:
    """Switch a running app to a newly loaded (already validated) config.

    The store stays the same (a new ``storage:`` needs a restart); the aggregate cache is kept.
    """
    ctx: WebContext = app.state.ctx
    model = ReadModel(ctx.store, loaded.config, ctx.model.cache)
    ctx.loaded = loaded
    ctx.model = model
    ctx.guard.set_trusted_proxies(loaded.config.serve.trusted_proxies)
    ctx.guard.set_users(loaded.config.serve.users)
    ctx.metrics.bind(
        model, ctx.services.scheduler_lag, ctx.services.store_size, ctx.services.gauges
    )
    ctx.responses.invalidate()
    for hook in ctx.services.on_reload:
        hook(loaded)


class Supervisor:
    """Restarts a background service whose ``run`` raised (after 1 s, doubling to 60 s while it
    keeps failing), logs each failure once, and reports the recent ones on ``/readyz``: a bug
    or an unexpected error in one service must not end log following or checks for good."""

    RECENT = 300.0
    """A failure stays on /readyz this long after it happened."""

    def __init__(self, first_delay: float = 1.0, max_delay: float = 60.0) -> None:
        self.first_delay, self.max_delay = first_delay, max_delay
        self.failures: dict[str, tuple[float, int, str]] = {}
        """Service name -> (time of the last failure, failures so far, what it raised)."""

    async def run(self, service: BackgroundService, stop: asyncio.Event) -> None:
        delay = self.first_delay
        while True:
            started = time.monotonic()
            try:
                await service.run(stop)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                message = (
                    f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
                )
                _, count, _ = self.failures.get(service.name, (0.0, 0, ""))
                self.failures[service.name] = (time.time(), count + 1, message)
                if time.monotonic() - started > 10 * self.max_delay:
                    delay = self.first_delay  # it had been running well: start the backoff over
                if stop.is_set():
                    log.warning("background service %s failed: %s", service.name, message)
                    return
                log.warning(
                    "background service %s failed (%s); restarting in %.0f s",
                    service.name,
                    message,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    return
                delay = min(delay * 2, self.max_delay)

    def problems(self) -> dict[str, str]:
        now = time.time()
        return {
            f"service:{name}": f"restarted after failure {count} ({message})"
            for name, (at, count, message) in sorted(self.failures.items())
            if now - at < self.RECENT
        }


async def overloaded(request: Request, exc: Exception) -> Response:
    """Too much page work queued (:mod:`prodshield.web.work`): 503 and when to come back, as
    JSON for the API and as text for the pages."""
    retry = str(getattr(exc, "retry_after", 5))
    headers = {"retry-after": retry, "cache-control": "no-store"}
    message = f"prodshield is busy: retry in {retry} s"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=503, headers=headers)
    return PlainTextResponse(message + "\n", status_code=503, headers=headers)


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
    supervisor = Supervisor()
    services.problems.append(supervisor.problems)
    model = ReadModel(store, loaded_config.config, cache)
    limits = loaded_config.config.serve.limits
    work = PageWork(limits.page_workers, limits.page_queue)
    writes = write_work(limits.write_workers, limits.write_queue)
    metrics = WebMetrics()
    metrics.bind(model, services.scheduler_lag, services.store_size, services.gauges)
    metrics.connections = services.connections
    metrics.page_work = work
    metrics.write_work = writes
    ctx = WebContext(
        loaded=loaded_config,
        store=store,
        model=model,
        guard=Guard(
            token,
            trusted_proxies=loaded_config.config.serve.trusted_proxies,
            store=store,
            users=loaded_config.config.serve.users,
        ),
        services=services,
        templates=Templates(),
        metrics=metrics,
        responses=ResponseCache(response_ttl),
        work=work,
        writes=writes,
        probe=Probe(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        # sessions ended by logout before this start (here or on another instance)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.to_thread(ctx.guard.load_revoked), 10)
        for service in services.background:
            tasks.append(asyncio.create_task(supervisor.run(service, stop), name=service.name))
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
            work.close()
            writes.close()
            ctx.probe.close()
            if tasks:
                done, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
                for task in pending:
                    log.warning("background service %s did not stop in time", task.get_name())
                    task.cancel()
                for task in done:  # the supervisor logged the failures; this is a backstop
                    if not task.cancelled() and task.exception() is not None:
                        log.warning(
                            "background service %s failed: %s", task.get_name(), task.exception()
                        )

    app = Starlette(
        routes=[
            *api.routes,
            *pages.routes,
            *public.routes,
            *subscribe.routes,
            *hooks.routes,
            Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={Overloaded: overloaded},
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    return app
