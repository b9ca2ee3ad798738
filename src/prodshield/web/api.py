"""The JSON API under ``/api/v1``, the health endpoints and the heartbeat URL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from prodshield import __version__, deploys
from prodshield.audit import read as audit_read
from prodshield.chaos import read as chaos_read
from prodshield.config.schema import ShieldConfig
from prodshield.errors import Conflict, Invalid, NotFound, ProdshieldError
from prodshield.logs import read as logs_read
from prodshield.monitor import incidents, silences
from prodshield.monitor.heartbeats import OUTPUT_LIMIT, parse_signal, record_signal
from prodshield.monitor.read import STATUS_ORDER
from prodshield.monitor.views import (
    IncidentsView,
    InstancesView,
    RunResultsView,
    SilencesView,
    SilenceView,
)
from prodshield.notify.outbox import delivery_problems, retry_dead
from prodshield.text import loads_json
from prodshield.views import View
from prodshield.web.context import WebContext, ctx_of
from prodshield.web.openapi import (
    FindingsView,
    JournalsView,
    RetriedView,
    SilenceInput,
    TemplatesView,
    openapi_document,
)
from prodshield.web.security import HEARTBEAT

try:
    import orjson

    def dumps(data: Any) -> bytes:
        return orjson.dumps(data)

except ImportError:  # pragma: no cover - the pure-Python fallback

    def dumps(data: Any) -> bytes:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def view(answer: View, status: int = 200) -> Response:
    """A view model as the JSON the OpenAPI document describes."""
    return Response(answer.json_bytes(), status_code=status, media_type="application/json")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def refused(exc: NotFound | Conflict | Invalid) -> JSONResponse:
    """A domain error as the API's answer: 404 (no such thing), 409 (not in a state the
    action applies to), 400 (bad input), with the library's message."""
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
    return error(status, str(exc))


def throttled() -> JSONResponse:
    return JSONResponse(
        {"error": "too many wrong tokens from this client: wait a minute"},
        status_code=429,
        headers={"retry-after": "60"},
    )


class Denied(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def _bearer(request: Request) -> str | None:
    """The name of the bearer token the request carries (``operator`` for ``serve.token``); a
    wrong one is counted against the client (429 after ten a minute); None when it carries none."""
    guard = ctx_of(request).guard
    sent = guard.bearer(request)
    if sent is None:
        return None
    client = guard.client(request)
    if guard.throttled(client):
        raise Denied(throttled())
    name = guard.who(sent)
    if name is not None:
        return name
    guard.failed(client)
    raise Denied(error(401, "wrong token"))


def reader(request: Request) -> str:
    """Who is reading: the token holder or a dashboard session; raise :class:`Denied` otherwise."""
    ctx = ctx_of(request)
    if _bearer(request):
        return "token"
    if ctx.guard.session(request) is not None:
        return "dashboard"
    raise Denied(error(401, "authentication required: send Authorization: Bearer <token>"))


def writer(request: Request) -> str:
    """Who may change state: the bearer token, or a session with its CSRF token in the header."""
    ctx = ctx_of(request)
    name = _bearer(request)
    if name is not None:
        return name
    session = ctx.guard.session(request)
    if session is None:
        raise Denied(error(401, "authentication required: send Authorization: Bearer <token>"))
    if not ctx.guard.csrf_ok(request, session):
        raise Denied(error(403, "missing or invalid CSRF token (X-CSRF-Token header)"))
    return session.user


MAX_BODY = 1 << 20
"""The largest JSON body the API reads (notes and updates are text, far below it): a bigger one is
answered 413 and never held whole, whoever sends it."""


async def bounded_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None when it is longer than ``limit`` (never held whole); the API and
    the inbound webhooks read their bodies through it."""
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def _body(request: Request) -> dict[str, Any]:
    too_large = Denied(error(413, f"request body is larger than {MAX_BODY} bytes"))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    raw = await bounded_body(request, MAX_BODY)
    if raw is None:
        raise too_large
    if not raw.strip():
        return {}
    try:
        data = loads_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Denied(error(400, f"request body is not JSON: {exc}")) from None
    if not isinstance(data, dict):
        raise Denied(error(400, "request body must be a JSON object"))
    return data


_Body = TypeVar("_Body", bound=BaseModel)


def _validated(model: type[_Body], body: dict[str, Any]) -> _Body:
    """The body as ``model`` (the model the OpenAPI document's schema is generated from), or
    400 naming the first field that is wrong: ``for: '2 hours' is not a duration (...)``."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "required"
        raise Denied(error(400, f"{where}: {message}" if where else message)) from None


def _int(value: str | None, default: int, low: int, high: int, name: str) -> int:
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise Denied(error(400, f"{name} must be an integer")) from None
    if not low <= n <= high:
        raise Denied(error(400, f"{name} must be between {low} and {high}"))
    return n


def _guarded(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        response = await _answer(handler, request)
        # what the token or a session reads (findings, incidents, heartbeat answers) stays out
        # of browser and proxy caches, as the dashboard's pages do
        response.headers.setdefault("cache-control", "no-store")
        return response

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def _answer(handler: Any, request: Request) -> Response:
    try:
        response: Response = await handler(request)
        return response
    except Denied as denied:
        return denied.response
    except (NotFound, Conflict, Invalid) as exc:
        # a domain error no handler caught is still the caller's: never a 503
        return refused(exc)
    except ProdshieldError as exc:
        return error(503, str(exc))


# --- reads -----------------------------------------------------------------------------------


async def list_checks(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    q = request.query_params
    environment, status = q.get("environment"), q.get("status")
    # only known values reach the response cache's key: ever-new ones would bypass it
    if environment is not None and environment not in ctx.model.environments:
        return error(400, f"no environment named {environment[:64]!r}")
    if status is not None and status not in STATUS_ORDER:
        return error(400, f"status must be one of {', '.join(sorted(STATUS_ORDER))}")

    def build() -> bytes:
        checks = ctx.model.checks(environment=environment, status=status)
        # plain dicts in ChecksView's shape through orjson: 5-10x faster than json (and than a
        # model per row) on the 10,000-check list; benchmarks/web.py prints both
        return dumps({"checks": checks, "count": len(checks), "generated_at": time.time()})

    key = ("checks", environment, status)
    body = ctx.responses.fresh(key) or await ctx.work.run(ctx.responses.get, key, build)
    return Response(body, media_type="application/json")


async def get_check(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    detail = await ctx.work.run(ctx.model.check, request.path_params["name"])
    if detail is None:
        return error(404, f"no check named {request.path_params['name']!r}")
    return view(detail)


async def list_instances(request: Request) -> Response:
    """The monitor instances sharing the store and how many checks each one runs."""
    reader(request)
    from prodshield.monitor.cluster import list_instances as instances_of

    ctx = ctx_of(request)
    found = await ctx.work.run(instances_of, ctx.store)
    return view(
        InstancesView(
            instances=found,
            count=len(found),
            live=sum(1 for i in found if i.live),
        )
    )


async def list_incidents(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    q = request.query_params
    status = q.get("status")
    if status not in (None, "open", "resolved"):
        return error(400, "status must be open or resolved")
    limit = _int(q.get("limit"), 100, 1, 1000, "limit")

    def load() -> Response:
        rows = ctx.model.incidents(status=status, check=q.get("check"), limit=limit)
        return view(IncidentsView(incidents=rows))

    return await ctx.work.run(load)


async def get_incident(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    incident_id = _int(request.path_params["id"], 0, 1, 2**62, "id")
    row = await ctx.work.run(ctx.model.incident, incident_id)
    return view(row) if row else error(404, f"no incident {incident_id}")


async def findings(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    q = request.query_params
    source = q.get("source", "all")
    if source not in ("all", "logs", "audit"):
        return error(400, "source must be all, logs or audit")
    severity = q.get("severity")

    def load() -> FindingsView:
        out = FindingsView()
        if source in ("all", "logs"):
            out.logs = logs_read.findings(ctx.store, severity=severity)
        if source in ("all", "audit"):
            out.audit = audit_read.latest(ctx.store, severity=severity)
        return out

    return await ctx.work.run(lambda: view(load()))


async def templates(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    q = request.query_params
    limit = _int(q.get("limit"), 30, 1, 500, "limit")
    hours = _int(q.get("hours"), 24, 1, 24 * 14, "hours")

    def load() -> TemplatesView:
        return TemplatesView(
            templates=logs_read.templates(ctx.store, limit=limit, hours=hours),
            new_since=logs_read.new_since(ctx.store),
            hours=hours,
        )

    return await ctx.work.run(lambda: view(load()))


async def list_deploys(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    q = request.query_params
    limit = _int(q.get("limit"), 100, 1, 1000, "limit")
    found = await ctx.work.run(
        deploys.deploys,
        ctx.store,
        environment=q.get("environment"),
        service=q.get("service"),
        limit=limit,
    )
    return view(deploys.DeploysView(deploys=[d.view() for d in found]))


async def list_journals(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    limit = _int(request.query_params.get("limit"), 50, 1, 500, "limit")
    rows = await ctx.work.run(chaos_read.journals, ctx.store, limit=limit)
    schedules = chaos_read.schedules(ctx.loaded.config.chaos.experiments)
    return view(JournalsView(journals=rows, schedules=schedules))


async def get_journal(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    journal_id = _int(request.path_params["id"], 0, 1, 2**62, "id")
    row = await ctx.work.run(chaos_read.journal, ctx.store, journal_id)
    return view(row) if row else error(404, f"no experiment journal {journal_id}")


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


# --- writes ----------------------------------------------------------------------------------


async def run_check(request: Request) -> Response:
    writer(request)
    ctx = ctx_of(request)
    name = request.path_params["name"]
    if name not in ctx.model.names:
        return error(404, f"no check named {name!r}")
    env = request.query_params.get("environment")
    if env is not None and (name, env) not in ctx.model.by_key:
        return error(404, f"check {name!r} has no environment {env!r}")
    hook = ctx.services.run_check
    if hook is None:
        return error(503, "running a check now needs the monitor: start `prodshield serve`")
    results = await hook(name, env)
    return view(RunResultsView(results=results))


async def _incident_action(request: Request, action: str) -> Response:
    who = writer(request)
    ctx = ctx_of(request)
    incident_id = _int(request.path_params["id"], 0, 1, 2**62, "id")
    body = await _body(request)
    by = _acting(body.get("by"), who)
    note = body.get("note") if action != "note" else body.get("text")
    if note is not None and not isinstance(note, str):
        return error(400, "note must be a string")
    if action == "note" and not (note or "").strip():
        return error(400, "text is required")
    ctx.responses.invalidate()
    store, config = ctx.store, ctx.loaded.config
    try:
        if action == "ack":
            outcome = await ctx.writes.run(
                incidents.acknowledge, store, config, incident_id, by, note
            )
        elif action == "note":
            outcome = await ctx.writes.run(
                incidents.add_note, store, config, incident_id, note or "", by
            )
        else:
            outcome = await ctx.writes.run(
                incidents.resolve_by_hand, store, config, incident_id, by, note
            )
    except (NotFound, Conflict, Invalid) as exc:
        return refused(exc)
    row = await ctx.writes.run(ctx.model.incident, incident_id)
    if row is None:
        return error(404, f"no incident {incident_id}")
    # says when it changed nothing: already acknowledged (by whom) or already resolved
    if action != "note":
        row.changed = outcome.changed
    row.message = outcome.describe(by)
    return view(row)


def _acting(named: Any, who: str) -> str:
    """Who an incident write is recorded as: a token may act for someone (``by``); the record
    keeps which token it was."""
    named = str(named or "").strip()
    return (f"{named} (via {who})" if named and named != who else who)[:128]


async def _write_incident(
    request: Request,
    field: str,
    write: Callable[[Any, ShieldConfig, int, str, str], object],
    *,
    on_behalf: bool = True,
) -> Response:
    """An incident write taking one required text ``field``: ``write(store, config, id, value,
    by)`` in a thread, then the incident as it now is. ``by`` is the token, or whom it acts for
    when ``on_behalf``."""
    who = writer(request)
    ctx = ctx_of(request)
    incident_id = _int(request.path_params["id"], 0, 1, 2**62, "id")
    body = await _body(request)
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        return error(400, f"{field} is required")
    by = _acting(body.get("by"), who) if on_behalf else who
    ctx.responses.invalidate()
    try:
        await ctx.writes.run(write, ctx.store, ctx.loaded.config, incident_id, value, by)
    except (NotFound, Conflict, Invalid) as exc:
        return refused(exc)
    row = await ctx.writes.run(ctx.model.incident, incident_id)
    return view(row) if row else error(404, f"no incident {incident_id}")


async def update_incident(request: Request) -> Response:
    return await _write_incident(request, "text", incidents.post_update)


async def open_incident(request: Request) -> Response:
    """Open an incident by hand (for what no check sees)."""
    who = writer(request)
    ctx = ctx_of(request)
    body = await _body(request)
    fields: dict[str, str] = {}
    for name in ("title", "service", "environment", "severity", "text", "by"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            return error(400, f"{name} must be a string")
        fields[name] = value or ""
    if not fields["title"].strip() or not fields["service"].strip():
        return error(400, "title and service are required")
    by = _acting(fields["by"], who)
    ctx.responses.invalidate()
    try:
        incident_id = await ctx.writes.run(
            lambda: incidents.open_manual(
                ctx.store,
                ctx.loaded.config,
                fields["title"],
                service=fields["service"].strip(),
                environment=fields["environment"].strip(),
                severity=fields["severity"].strip() or "high",
                text=fields["text"] or None,
                by=by,
            )
        )
    except (NotFound, Conflict, Invalid) as exc:
        return refused(exc)
    row = await ctx.writes.run(ctx.model.incident, incident_id)
    return view(row, 201) if row else error(404, "the incident was not stored")


async def postmortem_incident(request: Request) -> Response:
    return await _write_incident(request, "url", incidents.set_postmortem, on_behalf=False)


async def ack_incident(request: Request) -> Response:
    return await _incident_action(request, "ack")


async def note_incident(request: Request) -> Response:
    return await _incident_action(request, "note")


async def resolve_incident(request: Request) -> Response:
    return await _incident_action(request, "resolve")


async def list_silences(request: Request) -> Response:
    reader(request)
    ctx = ctx_of(request)
    past = request.query_params.get("all") in ("1", "true", "yes")
    return await ctx.work.run(
        lambda: view(SilencesView(silences=ctx.model.silences(include_past=past)))
    )


async def create_silence(request: Request) -> Response:
    """Silence a check (or every check) for a while, with a reason."""
    who = writer(request)
    ctx = ctx_of(request)
    asked = _validated(SilenceInput, await _body(request))
    by = _acting(asked.by, who)
    ctx.responses.invalidate()
    try:
        row = await ctx.writes.run(
            lambda: silences.create(
                ctx.store,
                ctx.loaded.config,
                check=asked.check,
                environment=asked.environment,
                seconds=asked.seconds,
                reason=asked.reason,
                by=by,
            )
        )
    except (NotFound, Conflict, Invalid) as exc:
        return refused(exc)
    return view(SilenceView.model_validate(row), 201)


async def expire_silence(request: Request) -> Response:
    """Lift a silence now."""
    who = writer(request)
    ctx = ctx_of(request)
    silence_id = _int(request.path_params["id"], 0, 1, 2**62, "id")
    ctx.responses.invalidate()
    try:
        row = await ctx.writes.run(silences.end, ctx.store, silence_id, who)
    except NotFound as exc:
        return refused(exc)
    return view(SilenceView.model_validate(row))


async def mark_deploy(request: Request) -> Response:
    writer(request)
    ctx = ctx_of(request)
    body = await _body(request)
    fields: dict[str, str] = {}
    for name in ("version", "environment", "service", "note"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            return error(400, f"{name} must be a string")
        fields[name] = value or ""
    at = body.get("at")
    if at is not None and (isinstance(at, bool) or not isinstance(at, int | float)):
        return error(400, "at must be epoch seconds")
    try:
        marker = await ctx.writes.run(
            lambda: deploys.mark(
                ctx.store,
                fields["version"],
                environment=fields["environment"],
                service=fields["service"],
                at=at,
                note=fields["note"] or None,
            )
        )
    except Invalid as exc:
        return refused(exc)
    ctx.responses.invalidate()
    return view(marker.view(), 201)


async def retry_outbox(request: Request) -> Response:
    writer(request)
    ctx = ctx_of(request)
    row_id = _int(request.path_params["id"], 0, 1, 2**62, "id")
    ctx.responses.invalidate()
    try:
        await ctx.writes.run(retry_dead, ctx.store, row_id)
    except NotFound:
        return error(404, f"no dead-lettered notification {row_id}")
    except Conflict as exc:
        return error(409, str(exc))
    return view(RetriedView(id=row_id, status="pending"))


# --- the service itself and heartbeats ---------------------------------------------------------


async def healthz(request: Request) -> Response:
    """Liveness: answered on the event loop, reading nothing, so it is prompt whatever the pages
    cost (they run on their own bounded workers, :mod:`prodshield.web.work`)."""
    return JSONResponse({"status": "ok", "version": __version__})


def _store_problems(ctx: WebContext) -> dict[str, str]:
    """The store answers, and what the outbox reports (on the probe's own thread)."""
    ctx.store.kv_get("web", "ready")
    return delivery_problems(ctx.store)


async def readyz(request: Request) -> Response:
    ctx: WebContext = ctx_of(request)
    try:
        # its own thread, one check at a time: never behind page work in a queue
        stored = await ctx.probe.run(lambda: _store_problems(ctx))
    except ProdshieldError as exc:
        return error(503, f"store unavailable: {exc}")
    extra = ctx.services.ready
    if not ctx.ready or (extra is not None and not extra()):
        return error(503, "starting")
    problems: dict[str, str] = {}
    for source in [*ctx.services.problems, ctx.work.problems, ctx.writes.problems]:
        try:
            problems.update(source())
        except Exception as exc:  # a broken reporter is itself a problem, not a 500
            problems[getattr(source, "__qualname__", "service")] = f"{type(exc).__name__}: {exc}"
    problems.update(stored)
    notes: dict[str, str] = {}
    for source in ctx.services.notes:
        try:
            notes.update(source())
        except Exception as exc:  # a broken reporter is a problem, not a 500
            problems[getattr(source, "__qualname__", "service")] = f"{type(exc).__name__}: {exc}"
    said: dict[str, Any] = {"notes": notes} if notes else {}
    if problems:
        # still serving (200): the load balancer keeps it, the operator sees what is wrong
        return JSONResponse(
            {"status": "degraded", "problems": problems, **said, "version": __version__}
        )
    return JSONResponse({"status": "ready", **said, "version": __version__})


async def _read_capped(request: Request, limit: int) -> bytes:
    """A job's POSTed output: only its last ``limit`` bytes are kept, so more is cut, not held.
    A chunk goes only when the later ones still hold ``limit`` bytes (the stream ends with an
    empty chunk: dropping everything before it kept nothing of an output over ``limit``)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        if not chunk:
            continue
        parts.append(chunk)
        size += len(chunk)
        while len(parts) > 1 and size - len(parts[0]) >= limit:
            size -= len(parts.pop(0))
    return b"".join(parts)[-limit:]


async def heartbeat(request: Request) -> Response:
    """Record a ping. Unknown tokens count against the client in the heartbeat bucket (apart from
    the API's: a stale URL in a cron job never locks its host out of the API); a throttled
    client is answered 429 whatever it sends, so guessing learns nothing, but a right token's ping
    is still recorded: a neighbour's mistakes behind the same address never make a job look late."""
    ctx = ctx_of(request)
    client = ctx.guard.client(request)
    throttled_now = ctx.guard.throttled(client, surface=HEARTBEAT)
    token = request.path_params["token"]
    parsed = parse_signal(request.path_params.get("signal"))
    if parsed is None:
        return error(404, "unknown heartbeat signal (start, fail or an exit code 0-255)")
    signal, code = parsed
    key: tuple[str, str] | None = None
    if 16 <= len(token) <= 64:
        output = None
        if request.method == "POST":
            raw = await _read_capped(request, 4 * OUTPUT_LIMIT)
            output = raw.decode("utf-8", "replace") if raw else None
        key = await ctx.writes.run(record_signal, ctx.model.store, token, signal, code, output)
    if throttled_now:
        return throttled()
    if key is None:
        ctx.guard.failed(client, surface=HEARTBEAT)
        return error(404, "unknown heartbeat")
    check, environment = key
    if ctx.services.heartbeat_signal is not None:
        ctx.services.heartbeat_signal(check, environment, signal)
    return JSONResponse(
        {"ok": True, "check": check, "environment": environment or None, "ts": time.time()}
    )


routes = [
    Route("/api/v1/openapi.json", openapi, methods=["GET"]),
    Route("/api/v1/checks", _guarded(list_checks), methods=["GET"]),
    # {name:path}: a check name may hold "/" (sent as %2F)
    Route("/api/v1/checks/{name:path}/run", _guarded(run_check), methods=["POST"]),
    Route("/api/v1/checks/{name:path}", _guarded(get_check), methods=["GET"]),
    Route("/api/v1/instances", _guarded(list_instances), methods=["GET"]),
    Route("/api/v1/incidents", _guarded(list_incidents), methods=["GET"]),
    Route("/api/v1/incidents", _guarded(open_incident), methods=["POST"]),
    Route("/api/v1/incidents/{id}", _guarded(get_incident), methods=["GET"]),
    Route("/api/v1/incidents/{id}/ack", _guarded(ack_incident), methods=["POST"]),
    Route("/api/v1/incidents/{id}/notes", _guarded(note_incident), methods=["POST"]),
    Route("/api/v1/incidents/{id}/updates", _guarded(update_incident), methods=["POST"]),
    Route("/api/v1/incidents/{id}/resolve", _guarded(resolve_incident), methods=["POST"]),
    Route("/api/v1/incidents/{id}/postmortem", _guarded(postmortem_incident), methods=["POST"]),
    Route("/api/v1/silences", _guarded(list_silences), methods=["GET"]),
    Route("/api/v1/silences", _guarded(create_silence), methods=["POST"]),
    Route("/api/v1/silences/{id}/expire", _guarded(expire_silence), methods=["POST"]),
    Route("/api/v1/deploys", _guarded(list_deploys), methods=["GET"]),
    Route("/api/v1/deploys", _guarded(mark_deploy), methods=["POST"]),
    Route("/api/v1/findings", _guarded(findings), methods=["GET"]),
    Route("/api/v1/chaos/journals", _guarded(list_journals), methods=["GET"]),
    Route("/api/v1/chaos/journals/{id}", _guarded(get_journal), methods=["GET"]),
    Route("/api/v1/templates", _guarded(templates), methods=["GET"]),
    Route("/api/v1/outbox/{id}/retry", _guarded(retry_outbox), methods=["POST"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", _guarded(readyz), methods=["GET"]),
    Route("/heartbeat/{token}", _guarded(heartbeat), methods=["GET", "POST"]),
    Route("/heartbeat/{token}/{signal}", _guarded(heartbeat), methods=["GET", "POST"]),
]
# Every state-changing route above (the authorization tests walk this list).
WRITE_ROUTES = [
    ("POST", "/api/v1/checks/{name}/run"),  # routed as {name:path}
    ("POST", "/api/v1/incidents/{id}/ack"),
    ("POST", "/api/v1/incidents/{id}/notes"),
    ("POST", "/api/v1/incidents/{id}/updates"),
    ("POST", "/api/v1/incidents"),
    ("POST", "/api/v1/incidents/{id}/resolve"),
    ("POST", "/api/v1/incidents/{id}/postmortem"),
    ("POST", "/api/v1/outbox/{id}/retry"),
    ("POST", "/api/v1/deploys"),
    ("POST", "/api/v1/silences"),
    ("POST", "/api/v1/silences/{id}/expire"),
]
