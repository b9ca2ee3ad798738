"""``apache``: common/combined access log (``%D`` microseconds or ``%T`` seconds appended) and the
error log (``[Wed Oct 11 14:32:52.123 2000] [core:error] [pid 123] [client 1.2.3.4:5] ...``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from prodshield.logs.formats.access import parse_access
from prodshield.logs.formats.base import LOCAL, BaseFormat, Record, month_number, norm_level

_ERROR = re.compile(
    r"\[\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))? (\d{4})\] "
    r"\[(?:[\w-]+:)?(\w+)\] (.*)$"
)
_PID = re.compile(r"\[pid (\d+)(?::tid \d+)?\] ")
_CLIENT = re.compile(r"\[client ([^\]]+?)(?::\d+)?\] ")


class ApacheFormat(BaseFormat):
    type = "apache"
    example: dict[str, Any] = {
        "lines": [
            "[Tue Mar 12 10:15:32.112233 2024] [core:error] [pid 4242] [client 192.0.2.7:51234] AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1",
            "[Tue Mar 12 10:15:35 2024] [mpm_event:notice] [pid 1] AH00489: Apache/2.4.58 (Unix) configured -- resuming normal operations",
        ]
    }
    description = "Apache httpd access (common/combined + %D) and error logs"
    multiline = False

    def sniff(self, line: str) -> bool:
        return self.parse(line) is not None

    def parse(self, line: str) -> Record | None:
        record = parse_access(line, "apache")
        if record is not None:
            return record
        m = _ERROR.match(line)
        if m is None:
            return None
        month = month_number(m.group(1)) or 1
        micro = int((m.group(6) or "0")[:6].ljust(6, "0"))
        try:
            ts: datetime | None = datetime(
                int(m.group(7)), month, int(m.group(2)), int(m.group(3)), int(m.group(4)),
                int(m.group(5)), micro, tzinfo=LOCAL,
            )  # fmt: skip
        except ValueError:
            ts = None
        message = m.group(9)
        fields: dict[str, Any] = {}
        if (p := _PID.match(message)) is not None:
            fields["pid"] = int(p.group(1))
            message = message[p.end() :]
        if (c := _CLIENT.match(message)) is not None:
            fields["client_ip"] = c.group(1)
            message = message[c.end() :]
        return Record(message=message, timestamp=ts, level=norm_level(m.group(8)), fields=fields)


FORMAT = ApacheFormat()
