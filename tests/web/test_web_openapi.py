"""The generated OpenAPI document: valid, naming exactly the routes the app serves, and every
route's answer on a real store (both backends) matching the schema it documents."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from prodshield.config import parse_config
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web import create_app
from prodshield.web.api import routes
from prodshield.web.openapi import ENDPOINTS, openapi_document
from support.web_seed import CONFIG, HEARTBEAT_TOKEN, TOKEN, seed

AUTH = {"Authorization": f"Bearer {TOKEN}"}
# the seeded config, with what the plain seed leaves out: an SLO on a check and on a service,
# and a scheduled chaos experiment
EXTRA = """
services:
  Website:
    slo: {objective: 99, window: 1d, alerts: [{long: 1h, short: 5m, burn_rate: 14.4}]}
chaos:
  experiments:
    - {name: api-latency, file: experiments/api.yaml, schedule: "0 10 * * 2"}
"""


def _config(tmp_path: Path) -> Any:
    text = CONFIG.replace(
        "    group: Website\n",
        "    group: Website\n    service: Website\n"
        "    slo: {objective: 99.5, window: 7d, alerts: [{long: 1h, short: 5m, burn_rate: 14}]}\n",
    )
    text += EXTRA
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    return parse_config(text, name=str(path), env={}, fs_path=path)


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    seed(store)
    app = create_app(_config(tmp_path), store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": doc["components"]})


def test_the_document_is_valid_openapi_31() -> None:
    from openapi_spec_validator import validate

    doc = openapi_document()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    # every schema is closed: a key the view does not declare fails the answers' check below
    for name, schema in doc["components"]["schemas"].items():
        if schema.get("type") == "object" and not name.endswith("Input"):
            assert schema.get("additionalProperties") is False or name in (
                "ConditionValue",
                "Note",
            ), name


def test_the_document_names_exactly_the_routes_served() -> None:
    served = set()
    for route in routes:
        assert isinstance(route, Route)
        path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path)
        if path == "/api/v1/openapi.json":
            continue
        for method in route.methods or ():
            if method not in ("HEAD",):
                served.add((method.lower(), path))
    documented = {
        (method, path) for path, ops in openapi_document()["paths"].items() for method in ops
    }
    # the heartbeat URLs take GET as well as POST: documented once, as POST
    served -= {("get", "/heartbeat/{token}"), ("get", "/heartbeat/{token}/{signal}")}
    assert served == documented


def _ids(store: Store) -> dict[str, int]:
    def first(table: Any, *where: Any) -> int:
        with store.connect() as conn:
            return int(conn.execute(select(table.c.id).where(*where).limit(1)).scalar_one())

    return {
        "open": first(t.incidents, t.incidents.c.status == "open"),
        "resolved": first(t.incidents, t.incidents.c.status == "resolved"),
        "journal": first(t.experiment_journals),
        "dead": first(t.outbox, t.outbox.c.status == "dead"),
    }


def test_every_route_answers_what_the_document_says(client: TestClient, store: Store) -> None:
    """Each documented operation called on a seeded store (writes too, in an order that makes
    each one succeed): the status is the documented one and the body validates against it."""
    doc = openapi_document()
    ids = _ids(store)
    created: dict[str, int] = {}

    def silence_id() -> int:
        return created["silence"]

    # (method, documented path) -> calls: (url, JSON body, expected status)
    calls: dict[tuple[str, str], list[tuple[str, Any, int]]] = {
        ("get", "/api/v1/checks"): [
            ("/api/v1/checks", None, 200),
            ("/api/v1/checks?status=down", None, 200),
            ("/api/v1/checks?environment=production", None, 200),
        ],
        ("get", "/api/v1/checks/{name}"): [
            ("/api/v1/checks/website", None, 200),
            ("/api/v1/checks/nightly-backup", None, 200),
            ("/api/v1/checks/nope", None, 404),
        ],
        # the monitor runs checks only under serve: this app has no hook (503, documented)
        ("post", "/api/v1/checks/{name}/run"): [("/api/v1/checks/website/run", None, 503)],
        ("get", "/api/v1/incidents"): [
            ("/api/v1/incidents", None, 200),
            ("/api/v1/incidents?status=open&limit=5", None, 200),
        ],
        ("post", "/api/v1/incidents"): [
            ("/api/v1/incidents", {"title": "Card payments slow", "service": "payments"}, 201)
        ],
        ("get", "/api/v1/incidents/{id}"): [
            (f"/api/v1/incidents/{ids['open']}", None, 200),
            (f"/api/v1/incidents/{ids['resolved']}", None, 200),
            ("/api/v1/incidents/999999", None, 404),
        ],
        ("post", "/api/v1/incidents/{id}/ack"): [
            (f"/api/v1/incidents/{ids['open']}/ack", {"note": "looking"}, 200)
        ],
        ("post", "/api/v1/incidents/{id}/notes"): [
            (f"/api/v1/incidents/{ids['open']}/notes", {"text": "a note"}, 200)
        ],
        ("post", "/api/v1/incidents/{id}/updates"): [
            (f"/api/v1/incidents/{ids['open']}/updates", {"text": "We are on it."}, 200)
        ],
        ("post", "/api/v1/incidents/{id}/postmortem"): [
            (
                f"/api/v1/incidents/{ids['resolved']}/postmortem",
                {"url": "https://wiki.example.com/pm/1"},
                200,
            )
        ],
        ("post", "/api/v1/incidents/{id}/resolve"): [
            (f"/api/v1/incidents/{ids['open']}/resolve", {"note": "fixed"}, 200)
        ],
        ("post", "/api/v1/silences"): [
            ("/api/v1/silences", {"check": "website", "for": "2h", "reason": "deploy"}, 201)
        ],
        ("get", "/api/v1/silences"): [
            ("/api/v1/silences", None, 200),
            ("/api/v1/silences?all=1", None, 200),
        ],
        ("post", "/api/v1/silences/{id}/expire"): [("silence", None, 200)],
        ("get", "/api/v1/instances"): [("/api/v1/instances", None, 200)],
        ("post", "/api/v1/deploys"): [
            ("/api/v1/deploys", {"version": "v2", "environment": "production"}, 201)
        ],
        ("get", "/api/v1/deploys"): [("/api/v1/deploys", None, 200)],
        ("get", "/api/v1/findings"): [
            ("/api/v1/findings", None, 200),
            ("/api/v1/findings?source=logs", None, 200),
            ("/api/v1/findings?source=audit&severity=high", None, 200),
        ],
        ("get", "/api/v1/chaos/journals"): [("/api/v1/chaos/journals", None, 200)],
        ("get", "/api/v1/chaos/journals/{id}"): [
            (f"/api/v1/chaos/journals/{ids['journal']}", None, 200),
            ("/api/v1/chaos/journals/999999", None, 404),
        ],
        ("get", "/api/v1/templates"): [("/api/v1/templates?hours=3", None, 200)],
        ("post", "/api/v1/outbox/{id}/retry"): [
            (f"/api/v1/outbox/{ids['dead']}/retry", None, 200),
            (f"/api/v1/outbox/{ids['dead']}/retry", None, 409),  # not dead any more
        ],
        ("get", "/healthz"): [("/healthz", None, 200)],
        ("get", "/readyz"): [("/readyz", None, 200)],
        ("post", "/heartbeat/{token}"): [
            (f"/heartbeat/{HEARTBEAT_TOKEN}", None, 200),
            ("/heartbeat/" + "x" * 20, None, 404),
        ],
        ("post", "/heartbeat/{token}/{signal}"): [(f"/heartbeat/{HEARTBEAT_TOKEN}/0", None, 200)],
    }
    assert set(calls) == {(e.method, e.path) for e in ENDPOINTS}, "an endpoint without a call"
    checked = 0
    for e in ENDPOINTS:
        operation = doc["paths"][e.path][e.method]
        for url, body, status in calls[(e.method, e.path)]:
            if url == "silence":
                url = f"/api/v1/silences/{silence_id()}/expire"
            r = client.request(e.method.upper(), url, json=body, headers=AUTH)
            assert r.status_code == status, (url, r.text)
            answer = operation["responses"][str(status)]
            if "$ref" in answer:
                answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
            schema = answer["content"]["application/json"]["schema"]
            errors = sorted(
                _validator(doc, schema).iter_errors(r.json()), key=lambda x: list(x.path)
            )
            assert not errors, (url, [f"{list(x.path)}: {x.message}" for x in errors[:5]])
            if e.path == "/api/v1/silences" and e.method == "post":
                created["silence"] = r.json()["id"]
            checked += 1
    assert checked == sum(len(v) for v in calls.values())


# (body, what the schema cannot know that the handler refuses it for, or None)
SILENCE_BODIES: list[tuple[dict[str, Any], str | None]] = [
    ({"check": "website", "for": "2h", "reason": "deploy"}, None),
    ({"for": "1h30m", "reason": "every check", "by": "alice"}, None),
    ({"check": "service:Website", "environment": "production", "for": "90", "reason": "slo"}, None),
    ({"check": "website", "for": "2h", "reason": "deploy", "ticket": "OPS-1"}, None),  # extra
    ({"check": "website", "for": "2h"}, None),  # no reason
    ({"check": "website", "for": "2h", "reason": ""}, None),
    ({"check": "website", "for": "2h", "reason": "   "}, None),
    ({"check": "website", "for": "2h", "reason": "x" * 501}, None),
    ({"check": "website", "for": "2h", "reason": 5}, None),
    ({"check": "website", "reason": "no duration"}, None),
    ({"check": "website", "for": 7200, "reason": "a number"}, None),
    ({"check": "website", "for": "two hours", "reason": "words"}, None),
    ({"check": "website", "for": "2h", "reason": "r", "by": "b" * 129}, None),
    ({"check": "", "for": "2h", "reason": "an empty check is not every check"}, None),
    ({"check": 5, "for": "2h", "reason": "r"}, None),
    ({"check": "website", "environment": "", "for": "2h", "reason": "r"}, None),
    ({"check": "nope", "for": "2h", "reason": "r"}, "the check"),
    ({"check": "website", "environment": "qa", "for": "2h", "reason": "r"}, "the environment"),
    ({"check": "website", "for": "0s", "reason": "r"}, "above 0"),
    ({"check": "website", "for": "91d", "reason": "r"}, "at most 90"),
]


def test_the_silence_schema_and_the_handler_agree(client: TestClient) -> None:
    """POST /api/v1/silences validates its body with the model its schema is generated from:
    every body the schema refuses is refused (400), every body it accepts is created (201),
    except what only shield.yaml or arithmetic can say, which the schema's words name."""
    doc = client.get("/api/v1/openapi.json").json()
    operation = doc["paths"]["/api/v1/silences"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    validator = _validator(doc, schema)
    resolved = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    words = resolved["description"] + resolved["properties"]["for"]["description"]
    for body, beyond in SILENCE_BODIES:
        schema_ok = validator.is_valid(body)
        r = client.post("/api/v1/silences", json=body, headers=AUTH)
        if beyond is None:
            assert r.status_code == (201 if schema_ok else 400), (body, schema_ok, r.text)
        else:
            assert schema_ok and r.status_code == 400, (body, r.text)
            assert beyond in words, beyond
        if r.status_code == 400:
            assert r.json()["error"] and "Traceback" not in r.text
