"""``proxifier``: Proxifier's traffic log (Windows and macOS)::

    [10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS
    [10.30 17:16:10] QQ.exe - tcpconn4.tencent.com:80 error : Could not connect through proxy proxy.cse.cuhk.edu.hk:5070

(``[MM.DD HH:MM:SS]``, the program, ``-``, the target and what happened to its connection). The
log has no level column: a connection Proxifier reports with ``error :`` is ``error``, any other
line ``info``. The time has no year and no zone: local time this year (last year for a date ahead
of today), as syslog's.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record, millis, yearless

_LINE = re.compile(
    r"\[(\d{2})\.(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?\] (.+?) - (\S+) (.*)$"
)


class ProxifierFormat(LineFormat):
    pattern = _LINE
    type = "proxifier"
    example: dict[str, Any] = {
        "lines": [
            "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy "
            "proxy.cse.cuhk.edu.hk:5070 HTTPS",
            "[10.30 16:49:07] chrome.exe - proxy.cse.cuhk.edu.hk:5070 close, 0 bytes sent, "
            "0 bytes received, lifetime <1 sec",
            "[10.30 17:16:10] QQ.exe - tcpconn4.tencent.com:80 error : Could not connect through "
            "proxy proxy.cse.cuhk.edu.hk:5070 - Proxy closed the connection unexpectedly.",
        ]
    }
    description = "Proxifier traffic log ([MM.DD HH:MM:SS] program - target what happened)"
    multiline = False

    def record(self, m: re.Match[str]) -> Record | None:
        mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 6))
        ts = yearless(mo, d, h, mi, s, millis(m.group(6)))
        message = f"{m.group(8)} {m.group(9)}"
        level = "error" if m.group(9).startswith("error :") else "info"
        return Record(message, ts, level, {"program": m.group(7), "target": m.group(8)})


FORMAT = ProxifierFormat()
