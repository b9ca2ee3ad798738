"""``bgl``: Blue Gene/L RAS event lines (IBM's MMCS RAS database, as exported in the public
CFDR/Loghub BGL logs)::

    - 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected

(alert tag, epoch seconds, date, location; then the event time, location, ``RAS``, the
component (``NULL`` type for some) and the severity: INFO, WARNING, SEVERE, ERROR, FATAL or FAILURE). Lines without
the leading four columns (straight from the RAS database) are read too. The event time has no
zone: local time, as in the other formats.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record, local_time, millis, norm_level

_LINE = re.compile(
    r"(?:(?P<tag>\S+) (?P<epoch>\d{9,11}) \d{4}\.\d{2}\.\d{2} \S+ )?"
    r"(?P<ts>(\d{4})-(\d{2})-(\d{2})-(\d{2})\.(\d{2})\.(\d{2})\.(?P<frac>\d{1,6})) (?P<loc>\S+) "
    r"(?:RAS|NULL) (?P<component>[A-Z_]+) (?P<level>INFO|WARNING|SEVERE|ERROR|FATAL|FAILURE)"
    r"(?: (?P<msg>.*))?$"
)


class BglFormat(LineFormat):
    pattern = _LINE
    type = "bgl"
    example: dict[str, Any] = {
        "lines": [
            "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 "
            "R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected",
            "- 1117869872 2005.06.04 R23-M1-N8-I:J18-U11 2005-06-04-00.24.32.432192 "
            "R23-M1-N8-I:J18-U11 RAS APP FATAL ciod: Error loading /home/auser/a.out: invalid "
            "or missing program image, Exec format error",
            "KERNDTLB 1118536327 2005.06.11 R30-M0-N9-C:J16-U01 2005-06-11-17.32.07.581048 "
            "R30-M0-N9-C:J16-U01 RAS KERNEL FATAL data TLB error interrupt",
        ]
    }
    description = "Blue Gene/L RAS events (time location RAS COMPONENT SEVERITY message)"
    multiline = False

    def record(self, m: re.Match[str]) -> Record | None:
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(4, 10))
        ts = local_time(y, mo, d, h, mi, s, millis(m.group("frac")))
        fields = {"location": m.group("loc"), "component": m.group("component")}
        if m.group("tag") not in (None, "-"):
            fields["alert"] = m.group("tag")
        level = "fatal" if m.group("level") == "FAILURE" else norm_level(m.group("level"))
        return Record(m.group("msg") or "", ts, level, fields)


FORMAT = BglFormat()
