"""Shared parsing of the NCSA common/combined access-log line used by nginx and Apache."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from prodshield.logs.formats.base import Record, month_number, offset_tz, to_number

ACCESS = re.compile(
    r"(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}|-) (?P<bytes>\d+|-)'
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?(?P<rest>.*)$'
)
_TIME = re.compile(r"(\d{1,2})/(\w{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))? ([+-]\d{4})")
_EXTRA_KV = re.compile(r'(\w+)=("[^"]*"|\S+)')


def access_time(text: str) -> datetime | None:
    m = _TIME.match(text)
    if m is None:
        return None
    month = month_number(m.group(2))
    if month is None:
        return None
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    try:
        return datetime(
            int(m.group(3)), month, int(m.group(1)), int(m.group(4)), int(m.group(5)),
            int(m.group(6)), micro, tzinfo=offset_tz(m.group(8)),
        )  # fmt: skip
    except ValueError:
        return None


def parse_access(line: str, extras: str) -> Record | None:
    """A combined/common line; ``extras`` names how trailing values are read (nginx or apache)."""
    m = ACCESS.match(line)
    if m is None:
        return None
    request = m.group("request")
    parts = request.split(" ")
    fields: dict[str, Any] = {"client_ip": m.group("client")}
    if len(parts) >= 2:
        fields["method"] = parts[0]
        fields["path"] = parts[1]
        if len(parts) >= 3:
            fields["protocol"] = parts[2]
    status = m.group("status")
    if status != "-":
        fields["status"] = int(status)
    if m.group("bytes") != "-":
        fields["bytes"] = int(m.group("bytes"))
    if m.group("user") != "-":
        fields["user"] = m.group("user")
    if m.group("referer") not in (None, "-"):
        fields["referer"] = m.group("referer")
    if m.group("agent") not in (None, "-"):
        fields["user_agent"] = m.group("agent")
    rest = (m.group("rest") or "").strip()
    if rest:
        _extras(rest, extras, fields)
    level = None
    if "status" in fields:
        level = (
            "error" if fields["status"] >= 500 else "warning" if fields["status"] >= 400 else "info"
        )
    return Record(
        message=request, timestamp=access_time(m.group("time")), level=level, fields=fields
    )


def _extras(rest: str, kind: str, fields: dict[str, Any]) -> None:
    pairs = dict(_EXTRA_KV.findall(rest))
    for key in ("request_time", "rt"):
        if key in pairs and (v := to_number(pairs[key].strip('"'))) is not None:
            fields["duration_ms"] = float(v) * 1000.0
    for key in ("upstream_response_time", "urt", "uct"):
        if key in pairs:
            v = to_number(pairs[key].strip('"').split(",")[-1].strip())
            if v is not None:
                fields["upstream_ms"] = float(v) * 1000.0
    if "duration_ms" in fields:
        return
    bare = [t for t in rest.split() if "=" not in t]
    numbers = [to_number(t.strip('"')) for t in bare]
    values = [n for n in numbers if n is not None]
    if not values:
        return
    if kind == "nginx":
        # log_format main ... $request_time [$upstream_response_time]: seconds with a fraction
        fields["duration_ms"] = float(values[0]) * 1000.0
        if len(values) > 1:
            fields["upstream_ms"] = float(values[1]) * 1000.0
    else:
        # Apache %D (microseconds, an integer) or %T (seconds)
        first = values[0]
        fields["duration_ms"] = first / 1000.0 if isinstance(first, int) else float(first) * 1000.0
