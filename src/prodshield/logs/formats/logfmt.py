"""``logfmt``: ``key=value key2="quoted value"`` pairs (Heroku, Go services, Grafana stack)."""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import BaseFormat, Record, norm_level, to_number
from prodshield.logs.formats.json_lines import (
    LEVEL_KEYS,
    MESSAGE_KEYS,
    TIME_KEYS,
    json_time,
    normalize_fields,
    pick,
)

_PAIR = re.compile(r'(?<![\w.@/-])([A-Za-z_@][\w.@/-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')


def parse_pairs(line: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in _PAIR.findall(line):
        if value.startswith('"'):
            text = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            data[key] = text
        else:
            number = to_number(value) if value[:1].isdigit() or value[:1] == "-" else None
            data[key] = value if number is None or key in TIME_KEYS else number
    return data


class LogfmtFormat(BaseFormat):
    type = "logfmt"
    example: dict[str, Any] = {
        "lines": [
            'time=2024-03-12T10:15:32Z level=info msg="request done" method=GET path=/api/items status=200 duration=0.042 ip=203.0.113.4',
            'time=2024-03-12T10:15:33Z level=error msg="db timeout" query="SELECT 1" duration=5.0',
        ]
    }
    description = "logfmt key=value pairs"
    multiline = False

    def sniff(self, line: str) -> bool:
        data = parse_pairs(line)
        if len(data) < 2:
            return False
        covered = sum(len(k) + 1 + len(str(v)) for k, v in data.items())
        has_core = any(k in data for k in TIME_KEYS + LEVEL_KEYS + MESSAGE_KEYS)
        return has_core and covered >= 0.6 * len(line.replace(" ", ""))

    def parse(self, line: str) -> Record | None:
        data = parse_pairs(line)
        if not data:
            return Record(message=line)
        tkey, tval = pick(data, TIME_KEYS)
        lkey, lval = pick(data, LEVEL_KEYS)
        mkey, mval = pick(data, MESSAGE_KEYS)
        skip = {k for k in (tkey, lkey, mkey) if k}
        return Record(
            message=str(mval) if mval is not None else line,
            timestamp=json_time(tval),
            level=norm_level(lval),
            fields=normalize_fields(data, skip),
        )


FORMAT = LogfmtFormat()
