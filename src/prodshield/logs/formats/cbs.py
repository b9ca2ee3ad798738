"""``cbs``: Windows Component-Based Servicing logs (``%windir%\\Logs\\CBS\\CBS.log``, and
``DISM.log`` in the same layout)::

    2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505

(date time, level padded to a column, component, message). The time has no zone: local time, as
Windows writes it and as the other formats read it.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record, norm_level, parse_iso

_LINE = re.compile(
    r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}), "
    r"(Info|Warning|Error|Perf|Debug|Trace|Fatal)(?: +|$)(?:(\S+)(?: +|$))?(.*)$"
)


class CbsFormat(LineFormat):
    pattern = _LINE
    type = "cbs"
    example: dict[str, Any] = {
        "lines": [
            "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack "
            "v6.1.7601.23505 with Core: C:\\Windows\\winsxs\\cbscore.dll",
            "2016-09-28 04:30:31, Info                  CSI    00000001@2016/9/27:20:30:31.455 "
            "WcpInitialize (wcp.dll version 0.0.0.6) called",
            "2016-09-29 02:04:27, Error                 CBS    Failed to process single phase "
            "execution. [HRESULT = 0x800f0816 - CBS_E_DPX_JOB_STATE_SAVED]",
        ]
    }
    description = "Windows CBS/DISM logs (date time, Level Component message)"
    multiline = True

    def record(self, m: re.Match[str]) -> Record | None:
        level = {"perf": "info"}.get(m.group(2).lower()) or norm_level(m.group(2))
        fields = {"component": m.group(3)} if m.group(3) else {}
        return Record(m.group(4), parse_iso(m.group(1)), level, fields)


FORMAT = CbsFormat()
