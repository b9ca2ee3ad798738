"""``hdfs``: Hadoop HDFS daemons' log4j layout with a two-digit-year date (``yyMMdd HHmmss``)::

    081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38 terminating

(date, time, thread, level, class, message; the Loghub HDFS logs). The time has no zone: it is
the machine's local time, as in the other formats. Java stack traces under a line join it.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record, local_time, norm_level

_LINE = re.compile(
    r"(\d{2})(\d{2})(\d{2}) (\d{2})(\d{2})(\d{2}) (\d+) "
    r"(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL) ([\w.$-]+): ?(.*)$"
)


class HdfsFormat(LineFormat):
    pattern = _LINE
    type = "hdfs"
    example: dict[str, Any] = {
        "lines": [
            "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block "
            "blk_38865049064139660 terminating",
            "081109 204005 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap "
            "updated: 10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864",
            "081109 204655 556 WARN dfs.DataNode$DataXceiver: 10.251.71.193:50010:Got exception "
            "while serving blk_-2918118818249673980 to /10.251.71.193:",
        ]
    }
    description = "Hadoop HDFS log4j lines (yyMMdd HHmmss thread LEVEL class: message)"
    multiline = True

    def record(self, m: re.Match[str]) -> Record | None:
        yy, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        ts = local_time(2000 + yy, mo, d, h, mi, s)
        fields = {"thread": m.group(7), "logger": m.group(9)}
        return Record(m.group(10), ts, norm_level(m.group(8)), fields)


FORMAT = HdfsFormat()
