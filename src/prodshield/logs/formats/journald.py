"""``journald``: ``journalctl -o json`` export (one JSON object per entry)."""

from __future__ import annotations

import json
from typing import Any

from prodshield.logs.formats.base import BaseFormat, Record, from_epoch, norm_level
from prodshield.text import surrogates_out

_FIELDS = {
    "_HOSTNAME": "host",
    "SYSLOG_IDENTIFIER": "app",
    "_SYSTEMD_UNIT": "unit",
    "_PID": "pid",
    "_UID": "uid",
    "_COMM": "command",
}


class JournaldFormat(BaseFormat):
    type = "journald"
    example: dict[str, Any] = {
        "lines": [
            '{"__REALTIME_TIMESTAMP":"1710238532118250","PRIORITY":"3","_HOSTNAME":"web-1","SYSLOG_IDENTIFIER":"nginx","_PID":"811","_SYSTEMD_UNIT":"nginx.service","MESSAGE":"worker process 812 exited on signal 9"}',
            '{"__REALTIME_TIMESTAMP":"1710238533000000","PRIORITY":"6","_HOSTNAME":"web-1","SYSLOG_IDENTIFIER":"systemd","MESSAGE":"Started nginx.service."}',
        ]
    }
    description = "systemd journal, journalctl -o json"
    multiline = False

    def sniff(self, line: str) -> bool:
        return (
            line.startswith("{") and "__REALTIME_TIMESTAMP" in line and self.parse(line) is not None
        )

    def parse(self, line: str) -> Record | None:
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deeply
            return None
        data = surrogates_out(data, line)  # a lone "\\ud800" would fail every write
        if not isinstance(data, dict) or "MESSAGE" not in data:
            return None
        message = data.get("MESSAGE")
        if isinstance(message, list):  # binary messages are exported as byte arrays
            message = bytes(b for b in message if isinstance(b, int) and 0 <= b < 256).decode(
                "utf-8", "replace"
            )
        fields = {ours: data[theirs] for theirs, ours in _FIELDS.items() if theirs in data}
        if isinstance(fields.get("pid"), str) and fields["pid"].isdigit():
            fields["pid"] = int(fields["pid"])
        return Record(
            message=str(message or ""),
            timestamp=from_epoch(data.get("__REALTIME_TIMESTAMP")),
            level=norm_level(data.get("PRIORITY")),
            fields=fields,
        )


FORMAT = JournaldFormat()
