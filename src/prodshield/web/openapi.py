"""The OpenAPI 3.1 document of ``/api/v1``, generated from the view models the handlers send.

Each endpoint is one :class:`Endpoint` row (method, path, summary, parameters, the request body's
model and the response's); the schemas come from the pydantic view models of the capabilities'
read models (``monitor/views.py``, ``logs/read.py``, ``audit/read.py``, ``chaos/read.py``,
``deploys.py``) and the envelopes below, so a resource is described once. Request bodies are
parsed by hand in ``api.py`` (bounded, with one-line errors); their models here document them.
``tests/web/test_web_api.py`` validates the document and every route's answer against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from prodshield import __version__
from prodshield.audit.read import AuditLatestView
from prodshield.chaos.read import JournalDetailView, JournalView, ScheduleView
from prodshield.config.types import parse_duration
from prodshield.deploys import DeploysView, DeployView
from prodshield.logs.read import LogFindingView, LogTemplateView, NewSinceView
from prodshield.monitor import silences
from prodshield.monitor.views import (
    CheckDetailView,
    ChecksView,
    IncidentsView,
    IncidentView,
    InstancesView,
    RunResultsView,
    SilencesView,
    SilenceView,
)
from prodshield.views import View

# --- envelopes the handlers compose from several read models ---------------------------------


class FindingsView(View):
    """Log findings and the latest audit run's findings (``source`` picks one or both)."""

    logs: list[LogFindingView] = Field(default_factory=list)
    audit: AuditLatestView | None = None


class TemplatesView(View):
    templates: list[LogTemplateView]
    new_since: NewSinceView
    hours: int = Field(description="the span of the hourly counts")


class JournalsView(View):
    journals: list[JournalView]
    schedules: list[ScheduleView]


class RetriedView(View):
    id: int
    status: Literal["pending"]


class HealthView(View):
    status: str = Field(description="ok (healthz); ready or degraded (readyz)")
    version: str
    problems: dict[str, str] | None = Field(
        default=None, description="readyz, degraded: what is wrong, per component"
    )
    notes: dict[str, str] | None = Field(
        default=None,
        description="readyz: what to know that is not wrong (a log source read as raw), per "
        "component; ready or degraded alike",
    )


class PingView(View):
    ok: bool
    check: str = Field(description="the heartbeat's check")
    environment: str | None = Field(description="its environment (null: the check has none)")
    ts: float


class ErrorView(View):
    error: str


# --- request bodies (documented; api.py reads them) -------------------------------------------


class Input(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


DURATION_PATTERN = (
    r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)?|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+)\s*$"
)
"""What ``config.types.parse_duration`` reads from a string: ``90``, ``30m``, ``1h30m``."""


class SilenceInput(Input):
    """``POST /api/v1/silences``. The handler validates the body with this model, so the schema
    documents what it refuses; beyond the schema it checks only what a schema cannot know: that
    shield.yaml names the check and the environment, that the duration is above 0 and at most
    90 days, and that the reason is not empty once escape sequences are removed."""

    check: str | None = Field(
        default=None,
        min_length=1,
        description="a check's name, or service:NAME for a service's SLO (default: every check)",
    )
    environment: str | None = Field(
        default=None, min_length=1, description="default: every environment"
    )
    for_: str = Field(
        alias="for",
        description="a duration: 30m, 2h, 1d (above 0, at most 90d)",
        json_schema_extra={"pattern": DURATION_PATTERN},
    )
    reason: str = Field(
        min_length=1, max_length=silences.MAX_REASON, json_schema_extra={"pattern": r"\S"}
    )
    by: str | None = Field(default=None, max_length=128)

    @model_validator(mode="before")
    @classmethod
    def _reason_given(cls, data: Any) -> Any:
        reason = data.get("reason", "") if isinstance(data, dict) else None
        if isinstance(reason, str) and not reason.strip():
            raise ValueError("a silence needs a reason")  # missing, empty or only spaces
        return data

    @field_validator("for_")
    @classmethod
    def _duration(cls, value: str) -> str:
        seconds = parse_duration(value)  # its ValueError says what is wrong
        if not 0 < seconds <= silences.MAX_SILENCE_S:
            raise ValueError("a silence lasts more than 0 seconds and at most 90 days")
        return value

    @property
    def seconds(self) -> float:
        return parse_duration(self.for_)


class IncidentActionInput(Input):
    note: str | None = Field(default=None, max_length=2000)
    by: str | None = Field(default=None, max_length=128)


class NoteInput(Input):
    text: str = Field(min_length=1, max_length=2000)
    by: str | None = Field(default=None, max_length=128)


class PostmortemInput(Input):
    url: str = Field(max_length=2000, json_schema_extra={"format": "uri"})


class DeployInput(Input):
    version: str = Field(min_length=1, max_length=255)
    environment: str | None = Field(default=None, max_length=128)
    service: str | None = Field(default=None, max_length=255)
    at: float | None = Field(default=None, description="epoch seconds (default: now)")
    note: str | None = Field(default=None, max_length=2000)


class ManualIncidentInput(Input):
    title: str = Field(min_length=1, max_length=300)
    service: str = Field(min_length=1, max_length=128)
    environment: str | None = Field(default=None, max_length=128)
    severity: Literal["low", "medium", "high", "critical"] | None = None
    text: str | None = Field(default=None, max_length=2000, description="a first update")
    by: str | None = Field(default=None, max_length=128)


# --- the endpoints ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["query", "path"]
    schema: dict[str, Any]
    description: str


def _int(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


ID = _int(1, 2**62)
LIMIT_1000 = Param("limit", "query", _int(1, 1000), "At most this many")
INCIDENT_ID = Param("id", "path", ID, "Incident id")
CHECK_NAME = Param("name", "path", {"type": "string"}, "Check name")
ENVIRONMENT = Param("environment", "query", {"type": "string"}, "Only this environment")
TOKEN = Param("token", "path", {"type": "string"}, "The heartbeat's URL token")

Auth = Literal["read", "write", "public"]


@dataclass(frozen=True)
class Endpoint:
    method: Literal["get", "post"]
    path: str
    summary: str
    response: type[BaseModel]
    auth: Auth = "read"
    params: tuple[Param, ...] = ()
    body: type[BaseModel] | None = None
    body_required: bool = True
    status: int = 200
    not_found: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _incident_action(path: str, summary: str, body: type[BaseModel]) -> Endpoint:
    return Endpoint(
        "post",
        f"/api/v1/incidents/{{id}}/{path}",
        summary,
        IncidentView,
        auth="write",
        params=(INCIDENT_ID,),
        body=body,
        body_required=body is NoteInput,
        not_found=True,
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "get",
        "/api/v1/checks",
        "Every check and environment with state, last result and uptime",
        ChecksView,
        params=(
            ENVIRONMENT,
            Param(
                "status",
                "query",
                {
                    "type": "string",
                    "enum": ["up", "down", "degraded", "unknown", "waiting", "maintenance"],
                },
                "Only this state",
            ),
        ),
    ),
    Endpoint(
        "get",
        "/api/v1/checks/{name}",
        "One check, per environment, with recent condition values",
        CheckDetailView,
        params=(CHECK_NAME,),
        not_found=True,
    ),
    Endpoint(
        "post",
        "/api/v1/checks/{name}/run",
        "Run a check now (needs the monitor of `prodshield serve`: 503 otherwise)",
        RunResultsView,
        auth="write",
        params=(CHECK_NAME, ENVIRONMENT),
        not_found=True,
        extra={"503": {"$ref": "#/components/responses/Unavailable"}},
    ),
    Endpoint(
        "get",
        "/api/v1/incidents",
        "Incidents, newest first",
        IncidentsView,
        params=(
            Param("status", "query", {"type": "string", "enum": ["open", "resolved"]}, "Filter"),
            Param("check", "query", {"type": "string"}, "Only this check"),
            LIMIT_1000,
        ),
    ),
    Endpoint(
        "post",
        "/api/v1/incidents",
        "Open an incident by hand (kind manual), for what no check sees",
        IncidentView,
        auth="write",
        body=ManualIncidentInput,
        status=201,
    ),
    Endpoint(
        "get",
        "/api/v1/incidents/{id}",
        "One incident with its evidence",
        IncidentView,
        params=(INCIDENT_ID,),
        not_found=True,
    ),
    _incident_action("ack", "Acknowledge an incident", IncidentActionInput),
    _incident_action("notes", "Add a note to an incident", NoteInput),
    _incident_action("updates", "Post a status update (public: status page and feed)", NoteInput),
    _incident_action("resolve", "Resolve an incident by hand", IncidentActionInput),
    _incident_action(
        "postmortem",
        "Link a resolved incident to its post-mortem (409 while open)",
        PostmortemInput,
    ),
    Endpoint(
        "get",
        "/api/v1/silences",
        "The active silences (all=1: the ended ones too), newest first",
        SilencesView,
        params=(Param("all", "query", {"type": "string"}, "1: ended silences too"),),
    ),
    Endpoint(
        "post",
        "/api/v1/silences",
        "Silence a check (or every check) for a while, with a reason",
        SilenceView,
        auth="write",
        body=SilenceInput,
        status=201,
    ),
    Endpoint(
        "post",
        "/api/v1/silences/{id}/expire",
        "End a silence now (notifications resume)",
        SilenceView,
        auth="write",
        params=(Param("id", "path", ID, "The silence's id"),),
        not_found=True,
    ),
    Endpoint(
        "get",
        "/api/v1/instances",
        "Monitor instances sharing the store, and the checks each runs",
        InstancesView,
    ),
    Endpoint(
        "get",
        "/api/v1/deploys",
        "Deploy markers, newest first",
        DeploysView,
        params=(
            Param(
                "environment",
                "query",
                {"type": "string"},
                "Those for this environment (and for every environment)",
            ),
            Param(
                "service",
                "query",
                {"type": "string"},
                "Those for this service (and for every service)",
            ),
            LIMIT_1000,
        ),
    ),
    Endpoint(
        "post",
        "/api/v1/deploys",
        "Record a deploy marker",
        DeployView,
        auth="write",
        body=DeployInput,
        status=201,
    ),
    Endpoint(
        "get",
        "/api/v1/findings",
        "Log findings and the latest audit run's findings",
        FindingsView,
        params=(
            Param(
                "source",
                "query",
                {"type": "string", "enum": ["all", "logs", "audit"]},
                "Which capability",
            ),
            Param("severity", "query", {"type": "string"}, "Only this severity"),
        ),
    ),
    Endpoint(
        "get",
        "/api/v1/chaos/journals",
        "Chaos experiment runs (newest first: running, skipped, ended) and the scheduled "
        "experiments with their next run",
        JournalsView,
        params=(Param("limit", "query", _int(1, 500), "At most this many runs"),),
    ),
    Endpoint(
        "get",
        "/api/v1/chaos/journals/{id}",
        "One chaos run with its whole journal (Chaos Toolkit's format)",
        JournalDetailView,
        params=(Param("id", "path", ID, "The run's id"),),
        not_found=True,
    ),
    Endpoint(
        "get",
        "/api/v1/templates",
        "Log templates with hourly counts, each marked new when first seen after the last "
        "deploy marker (else the log service's baseline)",
        TemplatesView,
        params=(
            Param("limit", "query", _int(1, 500), "At most this many (30)"),
            Param("hours", "query", _int(1, 24 * 14), "Hourly counts span (24)"),
        ),
    ),
    Endpoint(
        "post",
        "/api/v1/outbox/{id}/retry",
        "Queue a dead-lettered notification again (409 when it is not dead)",
        RetriedView,
        auth="write",
        params=(Param("id", "path", ID, "Outbox row id"),),
        not_found=True,
        extra={"409": {"$ref": "#/components/responses/Conflict"}},
    ),
    Endpoint("get", "/healthz", "The process is alive", HealthView, auth="public"),
    Endpoint(
        "get",
        "/readyz",
        "The store answers and the service has started (200 ready or degraded, 503 starting)",
        HealthView,
        auth="public",
        extra={"503": {"$ref": "#/components/responses/Unavailable"}},
    ),
    Endpoint(
        "post",
        "/heartbeat/{token}",
        "Record a heartbeat ping (GET works too)",
        PingView,
        auth="public",
        params=(TOKEN,),
        not_found=True,
    ),
    Endpoint(
        "post",
        "/heartbeat/{token}/{signal}",
        "Record a job's start, failure or exit code (GET works too); a POSTed body is kept as "
        "the run's output (its last 10 KB, secrets masked)",
        PingView,
        auth="public",
        params=(
            TOKEN,
            Param(
                "signal",
                "path",
                {"type": "string", "pattern": "^(start|fail|[0-9]{1,3})$"},
                "start, fail, or the exit code (0: success)",
            ),
        ),
        not_found=True,
        extra={
            "requestBody": {
                "required": False,
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    ),
)


class _Schema(GenerateJsonSchema):
    """Pydantic's JSON Schema without a title on every property (the name says it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _component(name: str) -> str:
    return name.removesuffix("View") if name.endswith("View") and name != "View" else name


def _rename(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                base, _, name = value.rpartition("/")
                out[key] = f"{base}/{names.get(name, name)}"
            else:
                out[key] = _rename(value, names)
        return out
    if isinstance(node, list):
        return [_rename(v, names) for v in node]
    return node


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(e: Endpoint, ref: Any) -> dict[str, Any]:
    security: list[dict[str, list[str]]] = (
        [] if e.auth == "public" else [{"bearer": []}, {"session": []}]
    )
    responses: dict[str, Any] = {str(e.status): _json(ref(e.response, "serialization"))}
    if e.auth != "public":
        responses["401"] = {"$ref": "#/components/responses/Unauthorized"}
    if e.auth == "write":
        responses["403"] = {"$ref": "#/components/responses/Forbidden"}
    if e.not_found:
        responses["404"] = {"$ref": "#/components/responses/NotFound"}
    op: dict[str, Any] = {"summary": e.summary, "security": security}
    if e.params:
        op["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.where == "path",
                "schema": p.schema,
                "description": p.description,
            }
            for p in e.params
        ]
    if e.body is not None:
        op["requestBody"] = {
            "required": e.body_required,
            "content": {"application/json": {"schema": ref(e.body, "validation")}},
        }
    extra = dict(e.extra)
    if "requestBody" in extra:
        op["requestBody"] = extra.pop("requestBody")
    op["responses"] = {**responses, **extra}
    return op


@cache
def _document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (ErrorView, "serialization")
    ]
    for e in ENDPOINTS:
        models.append((e.response, "serialization"))
        if e.body is not None:
            models.append((e.body, "validation"))
    keyed, defs = models_json_schema(
        list(dict.fromkeys(models)),
        ref_template="#/components/schemas/{model}",
        schema_generator=_Schema,
    )
    schemas: dict[str, Any] = defs.get("$defs", {})
    names = {name: _component(name) for name in schemas}

    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        return dict(keyed[(model, mode)])  # type: ignore[index]

    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        paths.setdefault(e.path, {})[e.method] = _operation(e, ref)
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "prodshield API",
            "version": __version__,
            "description": "Checks, incidents and findings of a prodshield service. Every "
            "/api/v1 endpoint needs the token (`Authorization: Bearer <token>`) or a dashboard "
            "session; state-changing calls with a session also need `X-CSRF-Token`. Generated "
            "from the view models the handlers send.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {names[k]: {**v, "title": names[k]} for k, v in schemas.items()},
            "responses": {
                "Unauthorized": _json(_ref("Error"), "No valid token or session"),
                "Forbidden": _json(_ref("Error"), "Session without a valid CSRF token"),
                "NotFound": _json(_ref("Error"), "No such object"),
                "Conflict": _json(_ref("Error"), "Not in a state that allows it"),
                "Unavailable": _json(_ref("Error"), "Not available in this process"),
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "prodshield_session"},
            },
        },
    }
    renamed: dict[str, Any] = _rename(doc, names)
    return renamed


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_document(server_url: str = "/") -> dict[str, Any]:
    """The document (built once; the caller gets its own top-level copy)."""
    doc = dict(_document())
    doc["servers"] = [{"url": server_url}]
    return doc
