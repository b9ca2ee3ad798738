"""``postgres``: the server's stderr log with a ``log_line_prefix``.

The prefix is whatever precedes ``LOG:``/``ERROR:``/...; the common escapes are recognised in it:
the time (``%m``/``%t``, with zone), ``[%p]`` the pid, ``%u@%d`` user and database, ``%h`` the
client host. ``duration: 12.3 ms  statement: ...`` becomes ``duration_ms`` and ``query``.
``DETAIL:``, ``HINT:``, ``STATEMENT:``, ``CONTEXT:``, ``QUERY:`` and ``LOCATION:`` lines, and
tab-indented continuation lines of a long statement, are joined to the record above; a duration's
query is its statement with the indented lines under it only (a ``DETAIL:  parameters: ...``
record after it is the ``detail`` field, not part of the query).
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import BaseFormat, Record, norm_level, parse_iso

_SEVERITY = (
    r"DEBUG[1-5]?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|STATEMENT|CONTEXT|"
    r"QUERY|LOCATION"
)
_LINE = re.compile(rf"(?P<prefix>.*?)\b(?P<sev>{_SEVERITY}):  (?P<msg>.*)$")
_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)(?: ([A-Z]{2,5}|[+-]\d{2}(?::?\d{2})?))?"
)
_PID = re.compile(r"\[(\d+)\]")
_USER_DB = re.compile(r"(?:user=)?([\w-]+)@([\w-]+)|user=([\w-]+),db=([\w-]+)")
_HOST = re.compile(r"(?:host=)?(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]+)(?:\((\d+)\))?")
_DURATION = re.compile(
    r"duration: ([\d.]+) ms(?:\s+(?:statement|execute [^:]*|bind [^:]*|parse [^:]*): (.*))?", re.S
)
_CONTINUATIONS = {"DETAIL", "HINT", "STATEMENT", "CONTEXT", "QUERY", "LOCATION"}


def _timestamp(prefix: str) -> Any:
    m = _TIME.search(prefix)
    if m is None:
        return None
    zone = m.group(2)
    text = m.group(1)
    if zone and zone[0] in "+-":
        text += zone if ":" in zone or len(zone) == 3 else zone[:3] + ":" + zone[3:]
    elif zone in ("UTC", "GMT"):
        text += "+00:00"
    # no zone, or another abbreviation (CET, EST... ambiguous): the local time, as every format
    return parse_iso(text)


class PostgresFormat(BaseFormat):
    type = "postgres"
    example: dict[str, Any] = {
        "lines": [
            "2024-03-12 10:15:32.118 UTC [8812] shop@orders LOG:  duration: 1532.417 ms  statement: SELECT * FROM orders WHERE customer_id = 42",
            '2024-03-12 10:15:33.020 UTC [8813] shop@orders ERROR:  duplicate key value violates unique constraint "orders_pkey"',
            "2024-03-12 10:15:33.020 UTC [8813] shop@orders DETAIL:  Key (id)=(981) already exists.",
            "2024-03-12 10:15:33.020 UTC [8813] shop@orders STATEMENT:  INSERT INTO orders (id) VALUES (981)",
            "2024-03-12 10:15:40.000 UTC [1] LOG:  checkpoint starting: time",
        ]
    }
    description = "PostgreSQL stderr log with log_line_prefix, duration statements"
    multiline = True

    def sniff(self, line: str) -> bool:
        m = _LINE.match(line)
        return m is not None and _TIME.search(m.group("prefix")) is not None

    def parse(self, line: str) -> Record | None:
        if line.startswith(("\t", " ")):
            return None
        m = _LINE.match(line)
        if m is None:
            return None
        sev = m.group("sev")
        msg = m.group("msg")
        if sev in _CONTINUATIONS:
            return Record(message=f"{sev}:  {msg}", continuation=True)
        prefix = m.group("prefix")
        fields: dict[str, Any] = {}
        if (p := _PID.search(prefix)) is not None:
            fields["pid"] = int(p.group(1))
        if (u := _USER_DB.search(prefix)) is not None:
            fields["user"] = u.group(1) or u.group(3)
            fields["database"] = u.group(2) or u.group(4)
        rest = prefix[u.end() :] if u is not None else ""
        if (h := _HOST.search(rest)) is not None:
            fields["client_ip"] = h.group(1)
        # PostgreSQL's FATAL ended one session (a failed login, a client gone), not the server:
        # not the application's "fatal" level (docs/logs.md, Detectors)
        level = "info" if sev == "LOG" else "critical" if sev == "FATAL" else norm_level(sev)
        return Record(msg, _timestamp(prefix), level, fields)

    def finish(self, record: Record, extra: list[str]) -> None:
        # tab- or space-indented lines continue the part above them: the statement until a
        # DETAIL/HINT/STATEMENT/... record of the same session, then that record. A duration's
        # query is the statement and its own indented lines only: the ``DETAIL:  parameters: $1
        # = '42'`` record after it is its detail, never glued onto the query.
        statement = [record.message]
        part: str | None = None  # the field the indented lines continue (None: the statement)
        for text in extra:
            stripped = text.lstrip("\t ")
            if text.startswith(("\t", " ")):
                if part is None:
                    statement.append(stripped)
                elif part in record.fields:
                    record.fields[part] += "\n" + stripped
                continue
            part = "other"
            for name, key in (
                ("STATEMENT:  ", "query"),
                ("DETAIL:  ", "detail"),
                ("HINT:  ", "hint"),
            ):
                if stripped.startswith(name):
                    record.fields[key] = stripped[len(name) :]
                    part = key
                    break
        if extra:
            record.message = "\n".join([record.message, *extra])
        m = _DURATION.match("\n".join(statement))
        if m is not None:
            record.fields["duration_ms"] = float(m.group(1))
            if m.group(2):
                record.fields.setdefault("query", m.group(2).strip())


FORMAT = PostgresFormat()
