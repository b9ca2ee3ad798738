"""``mysql-slow``: the MySQL/MariaDB slow query log; each ``# Time:`` block with
its statement is one event with ``duration_ms``, ``lock_ms``, ``rows_sent``, ``rows_examined``,
``user``, ``client_ip`` and ``query``."""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import BaseFormat, Record, parse_iso

_TIME = re.compile(r"# Time: (\S+(?: \S+)?)")
_OLD_TIME = re.compile(r"# Time: (\d{2})(\d{2})(\d{2}) +(\d{1,2}):(\d{2}):(\d{2})")
_USER = re.compile(r"# User@Host: (\S+?)\[[^\]]*\] @ (\S*) ?\[([^\]]*)\](?:\s+Id:\s+(\d+))?")
_STATS = re.compile(r"(\w+): ([\d.]+)")
_SKIP = re.compile(r"(SET timestamp=\d+;|use \w+;)$", re.I)


class MysqlSlowFormat(BaseFormat):
    type = "mysql-slow"
    example: dict[str, Any] = {
        "lines": [
            "# Time: 2024-03-12T10:15:32.118250Z",
            "# User@Host: shop[shop] @ app-3 [10.0.5.3]  Id:   991",
            "# Query_time: 3.204110  Lock_time: 0.000120 Rows_sent: 1  Rows_examined: 482113",
            "SET timestamp=1710238532;",
            "SELECT COUNT(*) FROM orders",
            "  WHERE created_at > '2024-01-01';",
            "# Time: 2024-03-12T10:16:01.000000Z",
            "# User@Host: report[report] @  [10.0.5.9]  Id:   992",
            "# Query_time: 1.5  Lock_time: 0.0 Rows_sent: 10  Rows_examined: 9000",
            "SELECT * FROM customers ORDER BY created_at;",
        ]
    }
    description = "MySQL/MariaDB slow query log"
    multiline = True

    def sniff(self, line: str) -> bool:
        return line.startswith(("# Time: ", "# User@Host: ", "# Query_time: "))

    def parse(self, line: str) -> Record | None:
        # every entry of MySQL >= 5.7 / MariaDB starts with "# Time:"
        if line.startswith("# Time: "):
            return Record(message=line)
        return None

    def finish(self, record: Record, extra: list[str]) -> None:
        lines = [record.message, *extra]
        fields: dict[str, Any] = {}
        query: list[str] = []
        for text in lines:
            if (m := _TIME.match(text)) is not None:
                if (o := _OLD_TIME.match(text)) is not None:
                    y, mo, d, h, mi, s = o.groups()
                    record.timestamp = parse_iso(f"20{y}-{mo}-{d} {int(h):02d}:{mi}:{s}")
                else:
                    record.timestamp = parse_iso(m.group(1))
            elif (m := _USER.match(text)) is not None:
                fields["user"] = m.group(1)
                if m.group(3) or m.group(2):
                    fields["client_ip"] = m.group(3) or m.group(2)
                if m.group(4):
                    fields["connection_id"] = int(m.group(4))
            elif text.startswith("# "):
                for key, value in _STATS.findall(text):
                    k = key.lower()
                    if k == "query_time":
                        fields["duration_ms"] = float(value) * 1000.0
                    elif k == "lock_time":
                        fields["lock_ms"] = float(value) * 1000.0
                    elif k in ("rows_sent", "rows_examined", "rows_affected", "bytes_sent"):
                        fields[k] = int(float(value))
            elif text.startswith(("/usr/", "Tcp port:", "Time  ")) or _SKIP.match(text.strip()):
                continue
            elif text.strip():
                query.append(text.strip())
        if query:
            fields["query"] = " ".join(query)
        record.fields.update(fields)
        record.message = fields.get("query", lines[0])
        record.level = "warning"


FORMAT = MysqlSlowFormat()
