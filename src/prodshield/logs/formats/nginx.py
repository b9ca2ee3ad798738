"""``nginx``: the combined access log (with ``$request_time`` / ``$upstream_response_time``
extensions, bare or as ``rt=`` / ``urt=`` pairs) and the nginx error log."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from prodshield.logs.formats.access import parse_access
from prodshield.logs.formats.base import LOCAL, BaseFormat, Record, norm_level

_ERROR = re.compile(
    r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(\w+)\] (\d+)#(\d+): (?:\*(\d+) )?(.*)$"
)
_CLIENT = re.compile(r", client: ([^,]+)")
_REQUEST = re.compile(r', request: "(\S+) (\S+)')


class NginxFormat(BaseFormat):
    type = "nginx"
    example: dict[str, Any] = {
        "lines": [
            '203.0.113.9 - - [12/Mar/2024:10:15:32 +0100] "GET /api/orders?page=2 HTTP/1.1" 200 5123 "-" "Mozilla/5.0 (X11; Linux x86_64)" 0.123 0.120',
            '198.51.100.4 - alice [12/Mar/2024:10:15:33 +0100] "POST /login HTTP/1.1" 502 157 "https://shop.example/" "curl/8.5.0" 2.004 2.001',
        ]
    }
    description = "nginx access (combined + request_time) and error logs"
    multiline = False

    def sniff(self, line: str) -> bool:
        return self.parse(line) is not None

    def parse(self, line: str) -> Record | None:
        record = parse_access(line, "nginx")
        if record is not None:
            return record
        m = _ERROR.match(line)
        if m is None:
            return None
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        fields: dict[str, Any] = {"pid": int(m.group(8))}
        message = m.group(11)
        if (c := _CLIENT.search(message)) is not None:
            fields["client_ip"] = c.group(1)
        if (r := _REQUEST.search(message)) is not None:
            fields["method"], fields["path"] = r.group(1), r.group(2)
        return Record(
            message=message,
            timestamp=datetime(y, mo, d, h, mi, s, tzinfo=LOCAL),
            level=norm_level(m.group(7)),
            fields=fields,
        )


FORMAT = NginxFormat()
