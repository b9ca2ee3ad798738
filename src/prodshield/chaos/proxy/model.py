"""The API's objects (toxic settings) and errors, parsed and shown exactly as Toxiproxy v2 does."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from prodshield.chaos.proxy.toxics import REGISTRY, Toxic
from prodshield.config.capabilities import proxy_name_problem, toxic_name_problem
from prodshield.text import loads_json

UPSTREAM = 0
DOWNSTREAM = 1
STREAMS = {"upstream": (UPSTREAM,), "downstream": (DOWNSTREAM,), "both": (UPSTREAM, DOWNSTREAM)}

_order = itertools.count(1)
MAX_NUMBER = 2**63 - 1  # Go's int64, what Toxiproxy accepts


class ApiError(Exception):
    """An error the API answers as ``{"error": message, "status": status}``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def with_detail(self, detail: str) -> ApiError:
        return ApiError(f"{self.message}: {detail}", self.status)

    def to_json(self) -> dict[str, Any]:
        return {"error": self.message, "status": self.status}


BAD_REQUEST_BODY = ApiError("bad request body", 400)
MISSING_FIELD = ApiError("missing required field", 400)
PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be upstream, downstream or both", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)
BODY_TIMEOUT_ERROR = ApiError("request body timeout", 408)


def check_proxy_name(name: str) -> None:
    """``bad request body: invalid proxy name ...`` (400) unless ``name`` can name a proxy."""
    problem = proxy_name_problem(name)
    if problem is not None:
        raise BAD_REQUEST_BODY.with_detail(problem)


def check_toxic_name(name: str) -> None:
    """``bad request body: invalid toxic name ...`` (400) unless ``name`` can name a toxic: one
    path segment, as proxy names, so every toxic made can be shown, changed and removed."""
    problem = toxic_name_problem(name)
    if problem is not None:
        raise BAD_REQUEST_BODY.with_detail(problem)


def decode_body(raw: bytes) -> Any:
    """The request body as JSON, or ``bad request body: ...`` (400)."""
    if not raw.strip():
        raise BAD_REQUEST_BODY.with_detail("EOF")
    try:
        return loads_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BAD_REQUEST_BODY.with_detail(str(exc).split("\n")[0]) from None


def _type_error(field_name: str, want: str, value: Any) -> ApiError:
    got = type(value).__name__ if value is not None else "null"
    return BAD_REQUEST_BODY.with_detail(f"cannot use {got} as {want} in field {field_name}")


def get_str(body: Mapping[str, Any], key: str, default: str = "") -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _type_error(key, "string", value)
    return value


def get_bool(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _type_error(key, "bool", value)
    return value


def get_number(body: Mapping[str, Any], key: str, default: float, kind: type) -> float | int:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(key, "number", value)
    if not -MAX_NUMBER <= value <= MAX_NUMBER:
        raise BAD_REQUEST_BODY.with_detail(f"{key} is out of range")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise _type_error(key, "integer", value)
        return int(value)
    return float(value)


def require_object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise BAD_REQUEST_BODY.with_detail(f"expected a JSON object for {what}")
    return body


@dataclass(eq=False)
class ToxicConfig:
    """One toxic on one proxy: what the API shows, plus the toxic type that implements it."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any]
    toxic: Toxic
    limit_time: int = 0  # milliseconds after which the toxic removes itself (0: never)
    order: int = field(default_factory=lambda: next(_order))
    shared: dict[str, Any] = field(default_factory=dict)  # state across its connections

    @property
    def directions(self) -> tuple[int, ...]:
        if (
            self.toxic.http
        ):  # HTTP toxics read the requests (or responses), whatever the stream says
            return (DOWNSTREAM,) if self.toxic.http_responses else (UPSTREAM,)
        return STREAMS[self.stream.lower()]

    def to_json(self) -> dict[str, Any]:
        data = {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": _go_float(self.toxicity),
        }
        if self.limit_time:
            data["limit_time"] = self.limit_time
        return data


def _go_float(value: float) -> float | int:
    """Go's encoding/json writes a whole float without a fraction (1, not 1.0)."""
    return int(value) if value.is_integer() else value


def parse_attributes(
    toxic: Toxic, given: Any, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Attributes in the toxic's order: ``given`` merged over ``base`` (or the defaults)."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise _type_error("attributes", "object", given)
    result: dict[str, Any] = {}
    for attr in toxic.attributes:
        current = base[attr.name] if base is not None else attr.default
        if attr.kind is str:
            result[attr.name] = get_str(given, attr.name, str(current))
        else:
            result[attr.name] = get_number(given, attr.name, cast(float, current), attr.kind)
    try:
        toxic.validate(result)
    except ValueError as exc:
        raise BAD_REQUEST_BODY.with_detail(str(exc)) from None
    return result


def parse_toxic(body: Any) -> ToxicConfig:
    """A new toxic from its JSON (defaults: downstream, toxicity 1, name ``<type>_<stream>``)."""
    body = require_object(body, "a toxic")
    type_name = get_str(body, "type")
    stream = get_str(body, "stream", "downstream") or "downstream"
    toxicity = _toxicity(body, 1.0)
    if stream.lower() not in STREAMS:
        raise INVALID_STREAM
    name = get_str(body, "name") or f"{type_name}_{stream}"
    toxic = REGISTRY.get(type_name)
    if toxic is None:
        raise INVALID_TOXIC_TYPE
    check_toxic_name(name)
    attributes = parse_attributes(toxic, body.get("attributes"))
    limit_time = parse_limit_time(body, 0)
    return ToxicConfig(name, type_name, stream, toxicity, attributes, toxic, limit_time)


def _toxicity(body: Mapping[str, Any], default: float) -> float:
    """``toxicity``, a probability: unlike Toxiproxy (which takes any number and treats one over 1
    as 1), a value outside 0..1 is refused, as it is in shield.yaml."""
    toxicity = float(get_number(body, "toxicity", default, float))
    if not 0.0 <= toxicity <= 1.0:
        raise BAD_REQUEST_BODY.with_detail(f"toxicity must be from 0 to 1, not {toxicity:g}")
    return toxicity


def parse_limit_time(body: Mapping[str, Any], default: int) -> int:
    """``limit_time`` (ms) given beside ``type`` or among the attributes (where Toxiproxy clients
    can send it); 0 means the toxic stays until removed."""
    attributes = body.get("attributes")
    value = default
    if isinstance(attributes, dict) and "limit_time" in attributes:
        value = int(get_number(attributes, "limit_time", default, int))
    if "limit_time" in body:
        value = int(get_number(body, "limit_time", default, int))
    if value < 0:
        raise BAD_REQUEST_BODY.with_detail("limit_time must not be negative")
    return value


def parse_toxic_update(current: ToxicConfig, body: Any) -> tuple[float, dict[str, Any], int]:
    """New toxicity, attributes and limit_time for an existing toxic; given values merge over
    the current ones."""
    body = require_object(body, "a toxic")
    toxicity = _toxicity(body, current.toxicity)
    attributes = parse_attributes(current.toxic, body.get("attributes"), current.attributes)
    limit_time = parse_limit_time(body, current.limit_time)
    return toxicity, attributes, limit_time


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``, ``:port``) into host and port, or ValueError."""
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise ValueError(f"address {address}: missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"address {address}: invalid port") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"address {address}: invalid port")
    return host, port


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
