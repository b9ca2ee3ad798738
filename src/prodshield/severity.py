"""The one severity scale of findings, events and gates (imports nothing from prodshield).

From least to most severe: info, low, medium, high, critical. `rank` is higher for worse
(info=0 ... critical=4); `worst_first` sorts critical first and an unknown name last.
"""

from __future__ import annotations

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}
_UNKNOWN_LAST = 9


def worst_first(severity: str) -> int:
    """A sort key: critical 0, high 1, medium 2, low 3, info 4, anything else after them."""
    rank = RANK.get(severity)
    return _UNKNOWN_LAST if rank is None else len(SEVERITIES) - 1 - rank
