"""``python``: the logging module's default and common formats, with tracebacks joined.

Recognised first lines (continuation lines such as ``Traceback ...`` and the frames belong to the
record above them)::

    2024-03-01 12:00:00,123 - app.db - ERROR - message        (the cookbook format)
    2024-03-01 12:00:00,123 ERROR app.db: message             (and "... ERROR [app.db] message")
    2024-03-01 12:00:00,123 - WARN  [main:Server@12] - message (log4j "%d - %-5p [%t] - %m")
    [2024-03-01 12:00:00,123] ERROR in views: message         (Flask)
    [2024-03-01 12:00:00 +0000] [123] [INFO] message          (gunicorn)
    ERROR:app.db:message                                      (logging.basicConfig default)

The same shapes cover log4j/logback's ``%d %-5level [thread] logger - msg`` with Java stack traces.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import BaseFormat, Record, norm_level, parse_iso

_TS = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z| ?[+-]\d{2}:?\d{2}| UTC)?"
_LEVEL = r"TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|SEVERE"
_PATTERNS = [
    re.compile(rf"(?P<ts>{_TS}) - (?P<logger>\S+) - (?P<level>{_LEVEL}) - (?P<msg>.*)$"),
    re.compile(rf"(?P<ts>{_TS}) - (?P<level>{_LEVEL}) +\[(?P<thread>.*?)\] - (?P<msg>.*)$"),
    re.compile(rf"\[(?P<ts>{_TS})\] (?P<level>{_LEVEL}) in (?P<logger>[\w.]+): (?P<msg>.*)$"),
    re.compile(rf"\[(?P<ts>{_TS})\] \[(?P<pid>\d+)\] \[(?P<level>{_LEVEL})\] (?P<msg>.*)$"),
    re.compile(
        rf"(?P<ts>{_TS}) +(?:\[(?P<thread>[^\]]+)\] +)?(?P<level>{_LEVEL}) +"
        rf"(?:\[(?P<thread2>[^\]]+)\] +)?(?:(?P<logger>[\w.$]+)(?::| -) )?(?P<msg>.*)$"
    ),
    re.compile(rf"(?P<level>{_LEVEL}):(?P<logger>[\w.]+):(?P<msg>.*)$"),
]


class PythonFormat(BaseFormat):
    type = "python"
    example: dict[str, Any] = {
        "lines": [
            "2024-03-12 10:15:32,118 - shop.db - ERROR - could not connect to 10.0.4.2:5432",
            "Traceback (most recent call last):",
            '  File "/srv/shop/db.py", line 41, in connect',
            "    conn = psycopg.connect(dsn, connect_timeout=5)",
            "psycopg.OperationalError: connection refused",
            "2024-03-12 10:15:33,002 - shop.web - INFO - GET /health 200 in 3ms",
        ]
    }
    description = "Python logging (and log4j-style) lines with tracebacks/stack traces joined"
    multiline = True

    def sniff(self, line: str) -> bool:
        return self.parse(line) is not None

    def parse(self, line: str) -> Record | None:
        for pattern in _PATTERNS:
            m = pattern.match(line)
            if m is None:
                continue
            groups = m.groupdict()
            fields = {}
            if groups.get("logger"):
                fields["logger"] = groups["logger"]
            if groups.get("pid"):
                fields["pid"] = int(groups["pid"])
            thread = groups.get("thread") or groups.get("thread2")
            if thread:
                fields["thread"] = thread
            ts = parse_iso(groups["ts"]) if groups.get("ts") else None
            return Record(groups["msg"], ts, norm_level(groups["level"]), fields)
        return None

    def finish(self, record: Record, extra: list[str]) -> None:
        if not extra:
            return
        record.message = "\n".join([record.message, *extra])
        # the last non-frame line of a traceback names the exception
        for text in reversed(extra):
            stripped = text.strip()
            if stripped and not text.startswith((" ", "\t")) and ":" in stripped:
                record.fields.setdefault("exception", stripped.split(":", 1)[0])
                break
            if stripped and not text.startswith((" ", "\t")):
                record.fields.setdefault("exception", stripped)
                break


FORMAT = PythonFormat()
