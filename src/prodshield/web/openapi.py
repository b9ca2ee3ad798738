"""The OpenAPI 3.1 document of ``/api/v1``, written by hand next to the handlers it describes."""

from __future__ import annotations

from typing import Any

from prodshield import __version__
from prodshield.severity import SEVERITIES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


NUM_OR_NULL = {"type": ["number", "null"]}
STR_OR_NULL = {"type": ["string", "null"]}
ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
}
WRITE_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
}
NOT_FOUND = {"404": {"$ref": "#/components/responses/NotFound"}}
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
    "Uptime": {
        "type": "object",
        "description": "Percent of ok results per window (null: no results).",
        "properties": {k: NUM_OR_NULL for k in ("24h", "7d", "30d", "90d")},
    },
    "LastResult": {
        "type": ["object", "null"],
        "properties": {
            "ts": {"type": "number", "description": "epoch seconds"},
            "ok": {"type": "boolean"},
            "error_kind": STR_OR_NULL,
            "response_time_ms": NUM_OR_NULL,
            "error": STR_OR_NULL,
        },
    },
    "Check": {
        "type": "object",
        "required": ["name", "environment", "type", "status", "uptime"],
        "properties": {
            "name": {"type": "string"},
            "environment": STR_OR_NULL,
            "type": {"type": "string"},
            "group": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["up", "down", "waiting", "unknown", "maintenance"],
            },
            "consecutive_failures": {"type": "integer"},
            "last_result": _ref("LastResult"),
            "uptime": _ref("Uptime"),
            "avg_response_time_ms_24h": NUM_OR_NULL,
            "open_incident": {"type": ["integer", "null"]},
        },
    },
    "ConditionValue": {
        "type": "object",
        "properties": {
            "expr": {"type": "string"},
            "ok": {"type": "boolean"},
            "actual": STR_OR_NULL,
        },
    },
    "Result": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "ts": {"type": "number"},
            "ok": {"type": "boolean"},
            "response_time_ms": NUM_OR_NULL,
            "error_kind": STR_OR_NULL,
            "error": STR_OR_NULL,
            "conditions": {"type": "array", "items": _ref("ConditionValue")},
            "location": STR_OR_NULL,
        },
    },
    "CheckDetail": {
        "type": "object",
        "required": ["name", "type", "environments"],
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string"},
            "group": {"type": "string"},
            "description": STR_OR_NULL,
            "conditions": {"type": "array", "items": {"type": "string"}},
            "environments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "environment": STR_OR_NULL,
                        "status": {"type": "string"},
                        "last_result": _ref("LastResult"),
                        "uptime": _ref("Uptime"),
                        "recent_results": {"type": "array", "items": _ref("Result")},
                        "hourly": {"type": "array", "items": {"type": "object"}},
                        "daily": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
    },
    "Note": {
        "type": "object",
        "properties": {
            "ts": {"type": "number"},
            "by": {"type": "string"},
            "text": {"type": "string"},
        },
    },
    "Incident": {
        "type": "object",
        "required": ["id", "check", "status", "opened_at"],
        "properties": {
            "evidence": {
                "type": "array",
                "description": "one incident: what was known about its service (docs/monitor.md)",
                "items": {"type": "object"},
            },
            "id": {"type": "integer"},
            "check": {"type": "string"},
            "environment": STR_OR_NULL,
            "kind": {
                "type": "string",
                "enum": [
                    "down",
                    "degraded",
                    "certificate",
                    "heartbeat",
                    "flapping",
                    "manual",
                    "slo",
                ],
            },
            "manual": {"type": "boolean", "description": "opened by hand (`incident open`)"},
            "postmortem": {
                "type": ["string", "null"],
                "description": "the post-mortem's URL, once linked on a resolved incident",
            },
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "title": STR_OR_NULL,
            "status": {"type": "string", "enum": ["open", "resolved"]},
            "opened_at": {"type": "number"},
            "resolved_at": NUM_OR_NULL,
            "duration_s": {"type": "number"},
            "acknowledged_at": NUM_OR_NULL,
            "acknowledged_by": STR_OR_NULL,
            "resolved_by": STR_OR_NULL,
            "last_error_kind": STR_OR_NULL,
            "notes": {"type": "array", "items": _ref("Note")},
        },
    },
    "Silence": {
        "type": "object",
        "required": ["id", "reason", "by", "created_at", "until", "active"],
        "properties": {
            "id": {"type": "integer"},
            "check": {"type": ["string", "null"], "description": "null: every check"},
            "environment": {"type": ["string", "null"], "description": "null: every one"},
            "reason": {"type": "string"},
            "by": {"type": "string"},
            "created_at": {"type": "number"},
            "until": {"type": "number", "description": "when it ends (epoch seconds)"},
            "ended_by": STR_OR_NULL,
            "active": {"type": "boolean"},
        },
    },
    "SilenceInput": {
        "type": "object",
        "required": ["for", "reason"],
        "properties": {
            "check": {"type": "string", "description": "default: every check"},
            "environment": {"type": "string", "description": "default: every environment"},
            "for": {"type": "string", "description": "a duration: 30m, 2h, 1d (at most 90d)"},
            "reason": {"type": "string", "minLength": 1, "maxLength": 500},
            "by": {"type": "string", "maxLength": 128},
        },
    },
    "IncidentAction": {
        "type": "object",
        "properties": {
            "note": {"type": "string", "maxLength": 2000},
            "by": {"type": "string", "maxLength": 128},
        },
    },
    "Deploy": {
        "type": "object",
        "required": ["id", "version", "environment", "service", "deployed_at"],
        "properties": {
            "id": {"type": "integer"},
            "version": {"type": "string"},
            "environment": {"type": "string", "description": "empty: every environment"},
            "service": {"type": "string", "description": "empty: every service"},
            "deployed_at": {"type": "number", "description": "epoch seconds"},
            "note": {"type": ["string", "null"]},
        },
    },
    "DeployInput": {
        "type": "object",
        "required": ["version"],
        "properties": {
            "version": {"type": "string", "minLength": 1, "maxLength": 255},
            "environment": {"type": "string", "maxLength": 128},
            "service": {"type": "string", "maxLength": 255},
            "at": {"type": "number", "description": "epoch seconds (default: now)"},
            "note": {"type": "string", "maxLength": 2000},
        },
    },
    "ManualIncidentInput": {
        "type": "object",
        "required": ["title", "service"],
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 300},
            "service": {"type": "string", "minLength": 1, "maxLength": 128},
            "environment": {"type": "string", "maxLength": 128},
            "severity": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
            "text": {"type": "string", "maxLength": 2000, "description": "a first update"},
            "by": {"type": "string", "maxLength": 128},
        },
    },
    "PostmortemInput": {
        "type": "object",
        "required": ["url"],
        "properties": {"url": {"type": "string", "format": "uri", "maxLength": 2000}},
    },
    "NoteInput": {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 2000},
            "by": {"type": "string", "maxLength": 128},
        },
    },
    "LogFinding": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "category": {"type": "string"},
            "kind": {"type": "string"},
            "severity": {"type": "string"},
            "count": {"type": "integer"},
            "first_seen": NUM_OR_NULL,
            "last_seen": NUM_OR_NULL,
            "message": {"type": "string"},
            "source": {"type": ["object", "null"]},
            "samples": {"type": "array", "items": {"type": "string"}},
            "fingerprint": {"type": "string"},
        },
    },
    "LogTemplate": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "template": {"type": "string"},
            "count": {"type": "integer"},
            "first_seen": NUM_OR_NULL,
            "last_seen": NUM_OR_NULL,
            "source": STR_OR_NULL,
            "hourly": {"type": "array", "items": {"type": "integer"}},
            "new": {"type": "boolean"},
        },
    },
    "AuditFinding": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "family": {"type": "string"},
            "rule": {"type": "string"},
            "severity": {"type": "string"},
            "title": {"type": "string"},
            "path": STR_OR_NULL,
            "line": {"type": ["integer", "null"]},
        },
    },
    "Instance": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "hostname": {"type": "string"},
            "pid": {"type": "integer"},
            "location": {"type": ["string", "null"]},
            "started_at": {"type": "number"},
            "last_seen": {"type": "number"},
            "heartbeat_s": {"type": "number"},
            "state": {"type": "string", "enum": ["live", "dead"]},
            "owned": {"type": "integer", "description": "Checks whose lease it holds"},
            "targets": {"type": "integer"},
            "group": {"type": ["string", "null"]},
        },
    },
    "Instances": {
        "type": "object",
        "properties": {
            "instances": {"type": "array", "items": _ref("Instance")},
            "count": {"type": "integer"},
            "live": {"type": "integer"},
        },
    },
    "Findings": {
        "type": "object",
        "properties": {
            "logs": {"type": "array", "items": _ref("LogFinding")},
            "audit": {
                "type": "object",
                "properties": {
                    "run": {"type": ["object", "null"]},
                    "findings": {"type": "array", "items": _ref("AuditFinding")},
                },
            },
        },
    },
    "Health": {
        "type": "object",
        "properties": {"status": {"type": "string"}, "version": {"type": "string"}},
    },
}


def _param(name: str, where: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
    }


INCIDENT_ID = _param("id", "path", {"type": "integer"}, "Incident id")
CHECK_NAME = _param("name", "path", {"type": "string"}, "Check name")


def _action(summary: str, body: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": SECURITY,
            "parameters": [INCIDENT_ID],
            "requestBody": {
                "required": body == "NoteInput",
                "content": {"application/json": {"schema": _ref(body)}},
            },
            "responses": {"200": _json(_ref("Incident")), **WRITE_ERRORS, **NOT_FOUND},
        }
    }


def openapi_document(server_url: str = "/") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "prodshield API",
            "version": __version__,
            "description": "Checks, incidents and findings of a prodshield service. Every endpoint "
            "needs the token (`Authorization: Bearer <token>`) or a dashboard session; "
            "state-changing calls with a session also need `X-CSRF-Token`.",
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/api/v1/checks": {
                "get": {
                    "summary": "Every check and environment with state, last result and uptime",
                    "security": SECURITY,
                    "parameters": [
                        _param("environment", "query", {"type": "string"}, "Only this environment"),
                        _param("status", "query", {"type": "string"}, "Only this state"),
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "checks": {"type": "array", "items": _ref("Check")},
                                    "count": {"type": "integer"},
                                },
                            }
                        ),
                        **ERRORS,
                    },
                }
            },
            "/api/v1/checks/{name}": {
                "get": {
                    "summary": "One check, per environment, with recent condition values",
                    "security": SECURITY,
                    "parameters": [CHECK_NAME],
                    "responses": {"200": _json(_ref("CheckDetail")), **ERRORS, **NOT_FOUND},
                }
            },
            "/api/v1/checks/{name}/run": {
                "post": {
                    "summary": "Run a check now",
                    "security": SECURITY,
                    "parameters": [
                        CHECK_NAME,
                        _param("environment", "query", {"type": "string"}, "Only this environment"),
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "results": {"type": "array", "items": {"type": "object"}}
                                },
                            }
                        ),
                        **WRITE_ERRORS,
                        **NOT_FOUND,
                        "503": {"$ref": "#/components/responses/Unavailable"},
                    },
                }
            },
            "/api/v1/incidents": {
                "get": {
                    "summary": "Incidents, newest first",
                    "security": SECURITY,
                    "parameters": [
                        _param(
                            "status",
                            "query",
                            {"type": "string", "enum": ["open", "resolved"]},
                            "Filter",
                        ),
                        _param("check", "query", {"type": "string"}, "Only this check"),
                        _param(
                            "limit",
                            "query",
                            {"type": "integer", "minimum": 1, "maximum": 1000},
                            "At most this many",
                        ),
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "incidents": {"type": "array", "items": _ref("Incident")}
                                },
                            }
                        ),
                        **ERRORS,
                    },
                },
                "post": {
                    "summary": "Open an incident by hand (kind manual), for what no check sees",
                    "security": SECURITY,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ManualIncidentInput")}},
                    },
                    "responses": {"201": _json(_ref("Incident")), **WRITE_ERRORS},
                },
            },
            "/api/v1/incidents/{id}": {
                "get": {
                    "summary": "One incident",
                    "security": SECURITY,
                    "parameters": [INCIDENT_ID],
                    "responses": {"200": _json(_ref("Incident")), **ERRORS, **NOT_FOUND},
                }
            },
            "/api/v1/incidents/{id}/ack": _action("Acknowledge an incident", "IncidentAction"),
            "/api/v1/incidents/{id}/notes": _action("Add a note to an incident", "NoteInput"),
            "/api/v1/incidents/{id}/updates": _action(
                "Post a status update (public: status page and feed)", "NoteInput"
            ),
            "/api/v1/incidents/{id}/resolve": _action(
                "Resolve an incident by hand", "IncidentAction"
            ),
            "/api/v1/incidents/{id}/postmortem": _action(
                "Link a resolved incident to its post-mortem (409 while open)", "PostmortemInput"
            ),
            "/api/v1/silences": {
                "get": {
                    "summary": "The active silences (all=1: the ended ones too), newest first",
                    "security": SECURITY,
                    "parameters": [
                        _param("all", "query", {"type": "string"}, "1: ended silences too")
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "silences": {"type": "array", "items": _ref("Silence")}
                                },
                            }
                        ),
                        **ERRORS,
                    },
                },
                "post": {
                    "summary": "Silence a check (or every check) for a while, with a reason",
                    "security": SECURITY,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("SilenceInput")}},
                    },
                    "responses": {"201": _json(_ref("Silence")), **WRITE_ERRORS},
                },
            },
            "/api/v1/silences/{id}/expire": {
                "post": {
                    "summary": "End a silence now (notifications resume)",
                    "security": SECURITY,
                    "parameters": [_param("id", "path", {"type": "integer"}, "The silence's id")],
                    "responses": {"200": _json(_ref("Silence")), **WRITE_ERRORS, **NOT_FOUND},
                }
            },
            "/api/v1/instances": {
                "get": {
                    "summary": "Monitor instances sharing the store, and the checks each runs",
                    "security": SECURITY,
                    "responses": {"200": _json(_ref("Instances")), **ERRORS},
                }
            },
            "/api/v1/deploys": {
                "get": {
                    "summary": "Deploy markers, newest first",
                    "security": SECURITY,
                    "parameters": [
                        _param(
                            "environment",
                            "query",
                            {"type": "string"},
                            "Those for this environment (and for every environment)",
                        ),
                        _param(
                            "service",
                            "query",
                            {"type": "string"},
                            "Those for this service (and for every service)",
                        ),
                        _param(
                            "limit",
                            "query",
                            {"type": "integer", "minimum": 1, "maximum": 1000},
                            "At most this many",
                        ),
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "deploys": {"type": "array", "items": _ref("Deploy")}
                                },
                            }
                        ),
                        **ERRORS,
                    },
                },
                "post": {
                    "summary": "Record a deploy marker",
                    "security": SECURITY,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("DeployInput")}},
                    },
                    "responses": {"201": _json(_ref("Deploy")), **WRITE_ERRORS},
                },
            },
            "/api/v1/chaos/journals": {
                "get": {
                    "summary": "Chaos experiment runs (newest first: running, skipped, ended) "
                    "and the scheduled experiments with their next run",
                    "security": SECURITY,
                    "parameters": [
                        _param(
                            "limit",
                            "query",
                            {"type": "integer", "minimum": 1, "maximum": 500},
                            "At most this many runs",
                        ),
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "journals": {"type": "array", "items": {"type": "object"}},
                                    "schedules": {"type": "array", "items": {"type": "object"}},
                                },
                            }
                        ),
                        **ERRORS,
                    },
                }
            },
            "/api/v1/chaos/journals/{id}": {
                "get": {
                    "summary": "One chaos run with its whole journal (Chaos Toolkit's format)",
                    "security": SECURITY,
                    "parameters": [_param("id", "path", {"type": "integer"}, "The run's id")],
                    "responses": {"200": _json({"type": "object"}), **ERRORS, **NOT_FOUND},
                }
            },
            "/api/v1/findings": {
                "get": {
                    "summary": "Log findings and the latest audit run's findings",
                    "security": SECURITY,
                    "parameters": [
                        _param(
                            "source",
                            "query",
                            {"type": "string", "enum": ["all", "logs", "audit"]},
                            "Which capability",
                        ),
                        _param("severity", "query", {"type": "string"}, "Only this severity"),
                    ],
                    "responses": {"200": _json(_ref("Findings")), **ERRORS},
                }
            },
            "/api/v1/templates": {
                "get": {
                    "summary": "Log templates with hourly counts, each marked new when first seen "
                    "after the last deploy marker (else the log service's baseline)",
                    "security": SECURITY,
                    "parameters": [
                        _param("limit", "query", {"type": "integer"}, "At most this many (30)"),
                        _param("hours", "query", {"type": "integer"}, "Hourly counts span (24)"),
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "templates": {"type": "array", "items": _ref("LogTemplate")},
                                    "new_since": {"type": "object"},
                                    "hours": {"type": "integer"},
                                },
                            }
                        ),
                        **ERRORS,
                    },
                }
            },
            "/api/v1/outbox/{id}/retry": {
                "post": {
                    "summary": "Queue a dead-lettered notification again (409 when it is not dead)",
                    "security": SECURITY,
                    "parameters": [_param("id", "path", {"type": "integer"}, "Outbox row id")],
                    "responses": {
                        "200": _json({"type": "object"}),
                        **WRITE_ERRORS,
                        **NOT_FOUND,
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "The process is alive",
                    "security": [],
                    "responses": {"200": _json(_ref("Health"))},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "The store answers and the service has started",
                    "security": [],
                    "responses": {
                        "200": _json(_ref("Health")),
                        "503": {"$ref": "#/components/responses/Unavailable"},
                    },
                }
            },
            "/heartbeat/{token}": {
                "post": {
                    "summary": "Record a heartbeat ping (GET works too)",
                    "security": [],
                    "parameters": [
                        _param("token", "path", {"type": "string"}, "The heartbeat's URL token")
                    ],
                    "responses": {"200": _json({"type": "object"}), **NOT_FOUND},
                }
            },
            "/heartbeat/{token}/{signal}": {
                "post": {
                    "summary": "Record a job's start, failure or exit code (GET works too); a "
                    "POSTed body is kept as the run's output (its last 10 KB, secrets masked)",
                    "security": [],
                    "parameters": [
                        _param("token", "path", {"type": "string"}, "The heartbeat's URL token"),
                        _param(
                            "signal",
                            "path",
                            {"type": "string", "pattern": "^(start|fail|[0-9]{1,3})$"},
                            "start, fail, or the exit code (0: success)",
                        ),
                    ],
                    "requestBody": {
                        "required": False,
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "responses": {"200": _json({"type": "object"}), **NOT_FOUND},
                }
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "responses": {
                "Unauthorized": _json(_ref("Error"), "No valid token or session"),
                "Forbidden": _json(_ref("Error"), "Session without a valid CSRF token"),
                "NotFound": _json(_ref("Error"), "No such object"),
                "Unavailable": _json(_ref("Error"), "Not available in this process"),
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "prodshield_session"},
            },
        },
    }
