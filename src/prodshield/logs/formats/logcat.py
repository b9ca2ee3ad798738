"""``logcat``: Android's ``adb logcat -v threadtime`` lines (the default since Android 7)::

    03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening app wtoken

(month-day, time, pid, tid, priority letter V/D/I/W/E/F/A, tag, message). The line has no year
and no zone: local time this year (last year for a date ahead of today), as syslog's.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record, millis, yearless

_LINE = re.compile(
    r"(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3}) +(\d+) +(\d+) ([VDIWEFA]) "
    r"(.*?) ?: (.*)$"
)
_LEVELS = {
    "V": "debug",
    "D": "debug",
    "I": "info",
    "W": "warning",
    "E": "error",
    "F": "fatal",
    "A": "fatal",
}


class LogcatFormat(LineFormat):
    pattern = _LINE
    type = "logcat"
    example: dict[str, Any] = {
        "lines": [
            "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening app "
            "wtoken = AppWindowToken{9f4ef63 token=Token{a64f992}}",
            "03-17 16:13:38.819  1702  8671 D PowerManagerService: acquire lock=233570404, "
            'flags=0x1, tag="View Lock", name=com.android.systemui, ws=null, uid=10037, pid=2227',
            "03-17 16:13:39.002  2227  2227 E AndroidRuntime: FATAL EXCEPTION: main",
        ]
    }
    description = "Android logcat, threadtime (MM-DD HH:MM:SS.mmm pid tid P tag: message)"
    multiline = False

    def record(self, m: re.Match[str]) -> Record | None:
        mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 6))
        ts = yearless(mo, d, h, mi, s, millis(m.group(6)))
        fields = {"pid": int(m.group(7)), "tid": int(m.group(8)), "tag": m.group(10)}
        return Record(m.group(11), ts, _LEVELS[m.group(9)], fields)


FORMAT = LogcatFormat()
