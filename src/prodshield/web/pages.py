"""HTML pages: the public status page, the login form and the dashboard behind it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from prodshield.audit import read as audit_read
from prodshield.chaos import read as chaos_read
from prodshield.config.types import parse_duration
from prodshield.errors import Conflict, Invalid, NotFound
from prodshield.exposition import CONTENT_TYPE
from prodshield.logs import read as logs_read
from prodshield.monitor import incidents, silences
from prodshield.notify import read as notify_read
from prodshield.notify.outbox import retry_dead
from prodshield.notify.redact import notifier_secrets
from prodshield.severity import worst_first
from prodshield.web.context import WebContext, ctx_of
from prodshield.web.cost import cost_panel
from prodshield.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Session,
    set_cookie,
)

PAST_INCIDENT_DAYS = 90
STATUS_PER_PAGE = 50


def status_context(ctx: WebContext, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """Everything the status page shows (also used by the static site export).

    The headline and the "Ongoing incidents" list come from the same read of the open
    incidents, so they cannot disagree.
    """
    model = ctx.model
    now = time.time()
    open_ = model.with_updates(model.incidents(status="open", limit=500))
    overview = model.services(page=page, per_page=per_page, open_incidents=open_, now=now)
    since = now - PAST_INCIDENT_DAYS * 86400
    past = model.with_updates(model.incidents(status="resolved", since=since, limit=20))
    head = overview["headline"]
    return {
        "overview": overview,
        "open_incidents": open_,
        "past_incidents": past,
        "headline": head.title,
        "headline_detail": head.detail,
        "level": head.level,
        "maintenance": model.maintenance(now),
        "generated_at": now,
        "subscriptions": subscription_offer(ctx),
    }


def subscription_offer(ctx: WebContext) -> dict[str, bool] | None:
    """What the status page's subscribe form offers (None: subscriptions are off)."""
    settings = ctx.loaded.config.serve.subscriptions
    if not settings.enabled:
        return None
    return {"email": settings.email is not None, "webhooks": settings.webhooks}


async def status_page(request: Request) -> Response:
    ctx = ctx_of(request)
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        page = 1
    # the cache is keyed on a page that exists: no query string makes a fresh key
    page = min(max(1, page), ctx.model.service_pages(STATUS_PER_PAGE))

    def build() -> bytes:
        data = status_context(ctx, page, STATUS_PER_PAGE)
        return ctx.render("status.html", **data, static_site=False).encode()

    key = ("status", page)
    body = ctx.responses.fresh(key) or await ctx.work.run(ctx.responses.get, key, build)
    return HTMLResponse(body, headers={"cache-control": "no-cache"})


# --- login -----------------------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    ctx = ctx_of(request)
    return _login_page(ctx, request, None)


def _login_page(
    ctx: WebContext, request: Request, message: str | None, status: int = 200
) -> Response:
    value, fresh = ctx.guard.login_csrf(request)
    html = ctx.render("login.html", csrf=value, message=message, next=_next(request))
    response = HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
    if fresh:
        set_cookie(
            response, request, LOGIN_CSRF_COOKIE, value, 3600, secure=ctx.guard.https(request)
        )
    return response


def _next(request: Request) -> str:
    target = request.query_params.get("next", "/dashboard")
    # Only local paths: never redirect to another site after login.
    return target if target.startswith("/") and not target.startswith("//") else "/dashboard"


async def login(request: Request) -> Response:
    ctx = ctx_of(request)
    form = await request.form()
    client = ctx.guard.client(request)
    if ctx.guard.throttled(client):
        return _login_page(ctx, request, "Too many wrong tokens: wait a minute.", 429)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = str(form.get("csrf", ""))
    if not cookie or sent != cookie:
        return _login_page(ctx, request, "The form expired: try again.", 403)
    user = ctx.guard.who(str(form.get("token", "")))
    if user is None:
        ctx.guard.failed(client)
        return _login_page(ctx, request, "Wrong token.", 401)
    target = str(form.get("next", "/dashboard"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/dashboard"
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        response,
        request,
        SESSION_COOKIE,
        ctx.guard.new_session_cookie(user=user),
        int(ctx.guard.ttl),
        secure=ctx.guard.https(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


async def logout(request: Request) -> Response:
    ctx = ctx_of(request)
    session = ctx.guard.session(request)
    form = await request.form()
    if session is not None and not ctx.guard.csrf_ok(request, session, str(form.get("csrf", ""))):
        message = "The form expired (invalid CSRF token): reload the page and sign out again."
        return _error(ctx, session, 403, message)
    if session is not None:
        await ctx.writes.run(ctx.guard.revoke, session)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- the dashboard ---------------------------------------------------------------------------


def _session(request: Request) -> Session | Response:
    ctx = ctx_of(request)
    session = ctx.guard.session(request)
    if session is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return session


HEADINGS = {
    400: "That did not work",
    401: "Sign in first",
    403: "The form expired",
    404: "Not found",
    409: "Nothing to do",
}


def _error(
    ctx: WebContext,
    session: Session | None,
    status: int,
    message: str,
    back: str = "/dashboard",
    section: str = "",
) -> Response:
    """A dashboard error in the dashboard's layout: what went wrong and a way back (the status
    code stays the error's). Without a session the way back is the sign-in form."""
    if not back.startswith("/") or back.startswith("//"):
        back = "/dashboard"
    if session is None:
        link, label = f"/login?next={quote(back)}", "Sign in"
    else:
        link, label = back, "Back"
    html = ctx.render(
        "action_error.html",
        layout="dash_base.html" if session is not None else "base.html",
        csrf=session.csrf if session is not None else "",
        section=section,
        status=status,
        heading=HEADINGS.get(status, "Error"),
        message=message,
        back=link,
        back_label=label,
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


def _back(form: Any, default: str) -> str:
    """The form's ``back`` field when it is a local path, else ``default``."""
    target = str(form.get("back", "") or default)
    return target if target.startswith("/") and not target.startswith("//") else default


def _page(ctx: WebContext, session: Session, name: str, section: str, **data: Any) -> Response:
    html = ctx.render(name, csrf=session.csrf, section=section, **data)
    return HTMLResponse(html, headers={"cache-control": "no-store"})


async def _rendered(
    ctx: WebContext, session: Session, name: str, section: str, load: Callable[[], dict[str, Any]]
) -> Response:
    """A dashboard page whose reads and render both run on a page worker (``ctx.work``), never
    on the event loop the probes are answered on."""
    return await ctx.work.run(lambda: _page(ctx, session, name, section, **load()))


async def dashboard(request: Request) -> Response:
    session = _session(request)
    if isinstance(session, Response):
        return session
    ctx = ctx_of(request)
    model = ctx.model
    status = request.query_params.get("status") or None
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1

    def load() -> dict[str, Any]:
        checks = model.checks(status=status)
        checks.sort(key=lambda c: ({"down": 0, "unknown": 1}.get(c["status"], 2), c["name"]))
        per = 100
        pages = max(1, -(-len(checks) // per))
        shown = checks[(page - 1) * per : page * per]
        return {
            "checks": shown,
            "beats": model.beats([(c["name"], c["environment"] or "") for c in shown], 20),
            "total": len(checks),
            "page": min(page, pages),
            "pages": pages,
            "status_filter": status,
            "counts": model.status_counts(),
            "incidents": model.incidents(limit=30),
            "chaos_running": chaos_read.running(ctx.store),
        }

    return await _rendered(ctx, session, "dashboard.html", "overview", load)


async def check_page(request: Request) -> Response:
    session = _session(request)
    if isinstance(session, Response):
        return session
    ctx = ctx_of(request)

    def build() -> Response:
        detail = ctx.model.check(request.path_params["name"], recent=30, charts=True)
        if detail is None:
            return _error(ctx, session, 404, "no such check", "/dashboard", "overview")
        incidents = ctx.model.incidents(check=detail.name, limit=20)
        return _page(
            ctx,
            session,
            "check.html",
            "overview",
            check=detail,
            incidents=incidents,
            now=time.time(),
        )

    return await ctx.work.run(build)


async def logs_page(request: Request) -> Response:
    session = _session(request)
    if isinstance(session, Response):
        return session
    ctx = ctx_of(request)

    def load() -> dict[str, Any]:
        return {
            # worst first, then the most recent: a medium error line seen a minute ago does not
            # push a critical database failure down the panel
            "findings": sorted(
                logs_read.findings(ctx.store, limit=200),
                key=lambda f: (worst_first(f.severity), -(f.last_seen or 0.0)),
            ),
            "templates": logs_read.templates(ctx.store),
            "new_since": logs_read.new_since(ctx.store),
            "digest": logs_read.digest(ctx.store),
        }

    return await _rendered(ctx, session, "logs.html", "logs", load)


async def audit_page(request: Request) -> Response:
    session = _session(request)
    if isinstance(session, Response):
        return session
    ctx = ctx_of(request)
    return await _rendered(
        ctx, session, "audit.html", "audit", lambda: {"audit": audit_read.latest(ctx.store)}
    )


async def chaos_page(request: Request) -> Response:
    session = _session(request)
    if isinstance(session, Response):
        return session
    ctx = ctx_of(request)

    def load() -> dict[str, Any]:
        return {
            "journals": chaos_read.journals(ctx.store, limit=50),
            "schedules": chaos_read.schedules(ctx.loaded.config.chaos.experiments),
        }

    return await _rendered(ctx, session, "chaos.html", "chaos", load)


async def notifications_page(request: Request) -> Response:
    session = _session(request)
    if isinstance(session, Response):
        return session
    ctx = ctx_of(request)

    def load() -> dict[str, Any]:
        secrets = notifier_secrets(ctx.loaded.config.notifiers)
        return {
            "outbox": notify_read.outbox(ctx.store, secrets=secrets),
            "heartbeats": ctx.model.heartbeats(ctx.bound),
        }

    return await _rendered(ctx, session, "notifications.html", "notifications", load)


async def cost_page(request: Request) -> Response:
    session = _session(request)
    if isinstance(session, Response):
        return session
    ctx = ctx_of(request)

    def load() -> dict[str, Any]:
        cost = cost_panel(ctx.store, ctx.model.targets, base_dir=ctx.loaded.base_dir)
        return {"cost": cost, "backend": ctx.store.backend}

    return await _rendered(ctx, session, "cost.html", "cost", load)


BACK = {"incidents": "/dashboard/incidents", "silences": "/dashboard/incidents",
        "outbox": "/dashboard/notifications"}  # fmt: skip
"""Where each kind of dashboard action returns to (a form's ``back`` field may say better)."""


class ActionFailed(Exception):
    """A dashboard action that cannot be done: its HTTP status and the message shown."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


MAX_ROW_ID = 2**62
"""The largest row id a URL may name (the API's bound): a larger one is no row, never an integer
the store cannot take (SQLite's are 64-bit: it raised OverflowError, a 500 with a traceback)."""


def _row_id(value: Any) -> int | None:
    """A row id from a URL, or None when it is not one (not a number, or out of range)."""
    try:
        n = int(value)
    except ValueError:
        return None
    return n if 1 <= n <= MAX_ROW_ID else None


async def dashboard_action(request: Request) -> Response:
    """Form posts from the dashboard: incident ack/note/resolve/update/postmortem/silence,
    silence expiry and outbox retry. Errors are pages in the dashboard's layout."""
    ctx = ctx_of(request)
    kind = request.path_params["kind"]
    action = request.path_params["action"]
    session = ctx.guard.session(request)
    if session is None:
        return _error(ctx, None, 401, "Your session ended: sign in again.", BACK.get(kind, ""))
    form = await request.form()
    back = _back(form, BACK.get(kind, "/dashboard"))
    section = "notifications" if kind == "outbox" else "incidents"
    if not ctx.guard.csrf_ok(request, session, str(form.get("csrf", ""))):
        message = "The form expired (invalid CSRF token): go back, reload the page and try again."
        return _error(ctx, session, 403, message, back, section)
    row_id = _row_id(request.path_params["id"])
    if row_id is None:
        return _error(ctx, session, 400, "bad id", back, section)
    ctx.responses.invalidate()
    try:
        default = await _act(ctx, session, kind, action, row_id, form)
    except ActionFailed as exc:
        return _error(ctx, session, exc.status, str(exc), back, section)
    return RedirectResponse(_back(form, default), status_code=303)


async def _act(
    ctx: WebContext, session: Session, kind: str, action: str, row_id: int, form: Any
) -> str:
    """Do one dashboard action; return where to go next, or raise :class:`ActionFailed`."""
    text = str(form.get("text", "")).strip() or None
    by = session.user
    try:
        if kind == "incidents" and action in ("ack", "note", "resolve", "update", "postmortem"):
            await _incident_action(ctx, by, action, row_id, text, form)
            return BACK["incidents"]
        if kind == "incidents" and action == "silence":
            try:
                seconds = parse_duration(str(form.get("for", "")).strip())
            except ValueError as exc:
                raise ActionFailed(400, str(exc)) from None
            await ctx.writes.run(
                lambda: silences.of_incident(
                    ctx.store, ctx.loaded.config, row_id, seconds=seconds, reason=text or "", by=by
                )
            )
            return f"/dashboard/incidents/{row_id}"
        if kind == "silences" and action == "expire":
            await ctx.writes.run(silences.end, ctx.store, row_id, by)
            return BACK["silences"]
        if kind == "outbox" and action == "retry":
            try:
                await ctx.writes.run(retry_dead, ctx.store, row_id)
            except NotFound:
                raise ActionFailed(404, f"no dead-lettered notification {row_id}") from None
            return BACK["outbox"]
    except (NotFound, Conflict, Invalid) as exc:
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
        raise ActionFailed(status, str(exc)) from None
    raise ActionFailed(404, f"unknown action {kind}/{action}")


async def _incident_action(
    ctx: WebContext, by: str, action: str, row_id: int, text: str | None, form: Any
) -> None:
    """One of the incident buttons, done by the monitor's write functions (domain errors
    raised). An acknowledge or resolve that changed nothing (already acknowledged, already
    resolved) is refused with 409 and says so, a note given with it kept."""
    store, config = ctx.store, ctx.loaded.config
    if action == "postmortem":
        url = str(form.get("url", "")).strip()
        await ctx.writes.run(incidents.set_postmortem, store, config, row_id, url, by)
        return
    if action in ("update", "note") and not text:
        raise ActionFailed(400, f"a{'n update' if action == 'update' else ' note'} needs text")
    if action == "update":
        await ctx.writes.run(incidents.post_update, store, config, row_id, text or "", by)
        return
    do = {
        "ack": lambda: incidents.acknowledge(store, config, row_id, by, text),
        "note": lambda: incidents.add_note(store, config, row_id, text or "", by),
        "resolve": lambda: incidents.resolve_by_hand(store, config, row_id, by, text),
    }[action]
    outcome = await ctx.writes.run(do)
    if action != "note" and not outcome.changed:
        raise ActionFailed(409, outcome.describe(by))


async def open_incident(request: Request) -> Response:
    """The dashboard's form to open an incident by hand."""
    ctx = ctx_of(request)
    back = "/dashboard/incidents"
    session = ctx.guard.session(request)
    if session is None:
        return _error(ctx, None, 401, "Your session ended: sign in again.", back)
    form = await request.form()
    if not ctx.guard.csrf_ok(request, session, str(form.get("csrf", ""))):
        message = "The form expired (invalid CSRF token): go back, reload the page and try again."
        return _error(ctx, session, 403, message, back, "incidents")
    ctx.responses.invalidate()
    try:
        incident_id = await ctx.writes.run(
            lambda: incidents.open_manual(
                ctx.store,
                ctx.loaded.config,
                str(form.get("title", "")),
                service=str(form.get("service", "")).strip(),
                environment=str(form.get("environment", "")).strip(),
                severity=str(form.get("severity", "")).strip() or "high",
                text=str(form.get("text", "")).strip() or None,
                by=session.user,
            )
        )
    except ValueError as exc:  # Invalid, and a ValueError
        return _error(ctx, session, 400, str(exc), back, "incidents")
    return RedirectResponse(f"/dashboard/incidents/{incident_id}", status_code=303)


async def incidents_page(request: Request) -> Response:
    session = _session(request)
    if isinstance(session, Response):
        return session
    ctx = ctx_of(request)

    def load() -> dict[str, Any]:
        return {"incidents": ctx.model.incidents(limit=200), "silences": ctx.model.silences()}

    return await _rendered(ctx, session, "incidents.html", "incidents", load)


async def incident_page(request: Request) -> Response:
    session = _session(request)
    if isinstance(session, Response):
        return session
    ctx = ctx_of(request)
    incident_id = _row_id(request.path_params["id"])
    if incident_id is None:
        return _error(ctx, session, 404, "no such incident", "/dashboard/incidents", "incidents")

    def build() -> Response:
        found = ctx.model.incident_timeline(incident_id)
        if found is None:
            message = f"no incident {incident_id}"
            return _error(ctx, session, 404, message, "/dashboard/incidents", "incidents")
        return _page(ctx, session, "incident.html", "incidents", **found)

    return await ctx.work.run(build)


async def metrics(request: Request) -> Response:
    ctx = ctx_of(request)
    # One render at a time: a flood of scrapes (the route is public) shares it rather than
    # costing a render each (0.3 s of CPU and 2.6 MB for 2,000 checks)
    body = await ctx.work.run(ctx.scrapes.get, "metrics", ctx.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)


routes = [
    Route("/", status_page, methods=["GET"]),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/dashboard", dashboard, methods=["GET"]),
    Route("/dashboard/checks/{name:path}", check_page, methods=["GET"]),
    Route("/dashboard/incidents", incidents_page, methods=["GET"]),
    Route("/dashboard/incidents/{id:int}", incident_page, methods=["GET"]),
    Route("/dashboard/incidents/open", open_incident, methods=["POST"]),
    Route("/dashboard/logs", logs_page, methods=["GET"]),
    Route("/dashboard/audit", audit_page, methods=["GET"]),
    Route("/dashboard/chaos", chaos_page, methods=["GET"]),
    Route("/dashboard/notifications", notifications_page, methods=["GET"]),
    Route("/dashboard/cost", cost_page, methods=["GET"]),
    Route("/dashboard/{kind}/{id}/{action}", dashboard_action, methods=["POST"]),
    Route("/metrics", metrics, methods=["GET"]),
]
