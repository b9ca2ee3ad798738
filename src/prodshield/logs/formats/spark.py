"""``spark``: Apache Spark's default log4j layout (``%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n``, in
``conf/log4j.properties.template``; YARN containers running Spark write the same)::

    17/06/09 20:10:40 INFO spark.SecurityManager: Changing view acls to: yarn,curi

The time has no zone: local time, as in the other formats. Java stack traces under a line join it.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record, local_time, norm_level

_LINE = re.compile(
    r"(\d{2})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2}) "
    r"(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL) ([\w.$-]+): ?(.*)$"
)


class SparkFormat(LineFormat):
    pattern = _LINE
    type = "spark"
    example: dict[str, Any] = {
        "lines": [
            "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal "
            "handlers for [TERM, HUP, INT]",
            "17/06/09 20:10:41 INFO spark.SecurityManager: SecurityManager: authentication "
            "disabled; ui acls disabled; users with view permissions: Set(yarn, curi)",
            "17/06/09 20:11:11 ERROR executor.CoarseGrainedExecutorBackend: RECEIVED SIGNAL 15: "
            "SIGTERM",
        ]
    }
    description = "Apache Spark log4j lines (yy/MM/dd HH:mm:ss LEVEL logger: message)"
    multiline = True

    def record(self, m: re.Match[str]) -> Record | None:
        yy, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        ts = local_time(2000 + yy, mo, d, h, mi, s)
        return Record(m.group(9), ts, norm_level(m.group(7)), {"logger": m.group(8)})


FORMAT = SparkFormat()
