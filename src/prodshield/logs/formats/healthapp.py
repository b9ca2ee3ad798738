"""``healthapp``: the log of Huawei's Android health app (the public Loghub HealthApp log)::

    20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579

(``yyyyMMdd-H:m:s:S`` time, component, process id, message; the fields are not zero-padded, so
``0:0:0:234`` is midnight and 234 ms). The message may hold ``|`` itself. The log has no level
column: no level. The time has no zone: local time, as in the other formats.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record, local_time

_LINE = re.compile(
    r"(\d{4})(\d{2})(\d{2})-(\d{1,2}):(\d{1,2}):(\d{1,2}):(\d{1,3})\|([^|\s]+)\|(\d{1,10})\|(.*)$"
)


class HealthAppFormat(LineFormat):
    pattern = _LINE
    type = "healthapp"
    example: dict[str, Any] = {
        "lines": [
            "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
            "20171223-22:15:29:633|Step_StandReportReceiver|30002312|onReceive action: "
            "android.intent.action.SCREEN_ON",
            "20171224-0:0:0:234|Step_StandStepDataManager|30002312|tryToReloadTodayBasicSteps"
            "1514044800223|3786|0|0",
        ]
    }
    description = "Huawei HealthApp (yyyyMMdd-H:m:s:S|component|pid|message)"
    multiline = False

    def record(self, m: re.Match[str]) -> Record | None:
        y, mo, d, h, mi, s, ms = (int(m.group(i)) for i in range(1, 8))
        ts = local_time(y, mo, d, h, mi, s, ms * 1000)
        if ts is None:
            return None
        fields = {"component": m.group(8), "pid": int(m.group(9))}
        return Record(m.group(10), ts, None, fields)


FORMAT = HealthAppFormat()
