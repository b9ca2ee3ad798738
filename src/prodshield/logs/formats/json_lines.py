"""``json``: one JSON object per line, with the usual key names for time, level and message."""

from __future__ import annotations

import json
from typing import Any

from prodshield.logs.formats.base import BaseFormat, Record, from_epoch, norm_level, parse_iso
from prodshield.text import surrogates_out

TIME_KEYS = ("timestamp", "time", "@timestamp", "ts", "date", "datetime", "t", "asctime")
LEVEL_KEYS = ("level", "severity", "levelname", "lvl", "log.level", "loglevel")
MESSAGE_KEYS = ("message", "msg", "event", "log", "text", "@message")
# common field names -> prodshield's names
FIELD_ALIASES = {
    "status": "status",
    "status_code": "status",
    "http_status": "status",
    "statuscode": "status",
    "path": "path",
    "url": "path",
    "uri": "path",
    "request_uri": "path",
    "method": "method",
    "http_method": "method",
    "duration_ms": "duration_ms",
    "latency_ms": "duration_ms",
    "elapsed_ms": "duration_ms",
    "response_time_ms": "duration_ms",
    "client_ip": "client_ip",
    "remote_addr": "client_ip",
    "ip": "client_ip",
    "remote_ip": "client_ip",
    "clientip": "client_ip",
    "user": "user",
    "username": "user",
    "user_id": "user",
    "query": "query",
    "statement": "query",
    "sql": "query",
    "logger": "logger",
    "name": "logger",
    "logger_name": "logger",
}
SECONDS_KEYS = ("duration", "request_time", "elapsed", "latency", "response_time")


def normalize_fields(data: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    """Remaining keys, with the common names mapped to prodshield's and durations in ms."""
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key in skip:
            continue
        name = FIELD_ALIASES.get(key.lower())
        if name is not None and name not in fields:
            fields[name] = value
        elif key.lower() in SECONDS_KEYS and isinstance(value, int | float):
            fields.setdefault("duration_ms", float(value) * 1000.0)
        else:
            fields[key] = value
    status = fields.get("status")
    if isinstance(status, str) and status.isdigit():
        fields["status"] = int(status)
    return fields


def pick(data: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in data:
            return key, data[key]
        if "." in key:
            outer, inner = key.split(".", 1)
            sub = data.get(outer)
            if isinstance(sub, dict) and inner in sub:
                return outer, sub[inner]
    return None, None


def json_time(value: Any) -> Any:
    if isinstance(value, int | float):
        return from_epoch(value)
    if isinstance(value, str):
        return parse_iso(value) or (from_epoch(value) if value.replace(".", "").isdigit() else None)
    return None


class JsonFormat(BaseFormat):
    type = "json"
    example: dict[str, Any] = {
        "lines": [
            '{"ts":"2024-03-12T10:15:32.118Z","level":"warn","msg":"slow request","method":"GET","path":"/api/cart","status":200,"duration_ms":1840.5,"remote_addr":"198.51.100.23"}',
            '{"timestamp":1710238533.5,"severity":"ERROR","message":"payment declined","user_id":"u-77"}',
        ]
    }
    description = "JSON lines (time/level/message under common key names)"
    multiline = False

    def sniff(self, line: str) -> bool:
        return line.startswith("{") and self.parse(line) is not None

    def parse(self, line: str) -> Record | None:
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deeply
            return None
        data = surrogates_out(data, line)  # a lone "\\ud800" would fail every write
        if not isinstance(data, dict):
            return None
        tkey, tval = pick(data, TIME_KEYS)
        lkey, lval = pick(data, LEVEL_KEYS)
        mkey, mval = pick(data, MESSAGE_KEYS)
        skip = {k for k in (tkey, lkey, mkey) if k}
        message = mval if isinstance(mval, str) else ("" if mval is None else json.dumps(mval))
        return Record(
            message=message,
            timestamp=json_time(tval),
            level=json_level(lval),
            fields=normalize_fields(data, skip),
        )


_PINO = ("debug", "debug", "info", "warning", "error", "fatal")
"""pino's and bunyan's numeric levels by tens: 10 trace, 20 debug, 30 info, 40 warn, 50 error,
60 fatal (and above: a custom level past fatal)."""


def json_level(value: Any) -> str | None:
    """A JSON line's level: a number from 10 up is pino's/bunyan's (``"level":50`` is error),
    0-7 a syslog severity (GELF's), a word as every format reads it (``norm_level``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) or (
        isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 6
    ):
        n = int(value)
        if n >= 10:
            return _PINO[min(n // 10, 6) - 1]
    return norm_level(value)


FORMAT = JsonFormat()
