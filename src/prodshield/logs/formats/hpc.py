"""``hpc``: the event log of Los Alamos' HPC clusters (the public LANL/Loghub HPC logs)::

    134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: Component \\042alt0\\042 is in the unavailable state (HWID=1973)

(log id, node, component, state, epoch seconds, flag, message). The time is an epoch: an instant,
no zone to guess. The log has no level column: an event whose state names an error
(``error``, ``bcast-error``) is ``error``, any other ``info``.
"""

from __future__ import annotations

import re
from typing import Any

from prodshield.logs.formats.base import LineFormat, Record, from_epoch

_LINE = re.compile(r"(\d{1,12}) (\S+) (\S+) (\S+) (\d{9,11}) (-?\d{1,3}) (.*)$")


class HpcFormat(LineFormat):
    pattern = _LINE
    type = "hpc"
    example: dict[str, Any] = {
        "lines": [
            "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State "
            "Change: Component \\042alt0\\042 is in the unavailable state (HWID=1973)",
            "2286759 full partition status 1061219795 -1 running",
            "460123 node-70 node error 1131566461 1 ambient=37",
        ]
    }
    description = "LANL HPC cluster events (id node component state epoch flag message)"
    multiline = False

    def record(self, m: re.Match[str]) -> Record | None:
        ts = from_epoch(m.group(5))
        if ts is None:
            return None
        state = m.group(4)
        fields = {"node": m.group(2), "component": m.group(3), "state": state}
        level = "error" if "error" in state.lower() else "info"
        return Record(m.group(7), ts, level, fields)


FORMAT = HpcFormat()
