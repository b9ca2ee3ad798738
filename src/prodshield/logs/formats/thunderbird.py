"""``thunderbird``: the syslog of Sandia's supercomputers (Thunderbird, Spirit, Liberty) as
published in the CFDR and Loghub collections::

    - 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: session closed for user root

(alert tag, epoch seconds, date, node; then an RFC 3164 syslog line whose host is
``node/relay``). The time is the epoch column (an instant: no zone to guess). syslog lines
written to a file carry no severity: the level is unknown (None), the alert tag is the ``alert``
field when not ``-``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record

_LINE = re.compile(
    r"(?P<tag>\S+) (?P<epoch>\d{9,11}) \d{4}\.\d{2}\.\d{2} (?P<node>\S+) "
    r"[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} (?P<host>\S+) "
    r"(?:(?P<app>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ?)?(?P<msg>.*)$"
)


class ThunderbirdFormat(LineFormat):
    pattern = _LINE
    type = "thunderbird"
    example: dict[str, Any] = {
        "lines": [
            "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: "
            "session closed for user root",
            "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond[2916]: (root) CMD "
            "(run-parts /etc/cron.hourly)",
            "VAPI 1131579543 2005.11.09 tbird-admin1 Nov 9 15:39:03 local@tbird-admin1 "
            "postfix/postdrop[10896]: warning: unable to look up public/pickup: No such file",
        ]
    }
    description = "Sandia supercomputer syslog (alert epoch date node, then RFC 3164 syslog)"
    multiline = False

    def record(self, m: re.Match[str]) -> Record | None:
        try:
            ts: datetime | None = datetime.fromtimestamp(int(m.group("epoch")), tz=UTC)
        except (OverflowError, OSError, ValueError):
            ts = None
        fields: dict[str, Any] = {"node": m.group("node"), "host": m.group("host")}
        if m.group("app"):
            fields["app"] = m.group("app")
        if m.group("pid"):
            fields["pid"] = int(m.group("pid"))
        if m.group("tag") != "-":
            fields["alert"] = m.group("tag")
        return Record(m.group("msg"), ts, None, fields)


FORMAT = ThunderbirdFormat()
