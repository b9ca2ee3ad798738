"""What the log service's tests share."""

from __future__ import annotations

from typing import Any, ClassVar

from prodshield.logs.detectors.base import EventLike
from prodshield.logs.findings import LogFinding


class Fragile:
    """A detector that raises on any line holding ``POISON``: the service must skip that line
    (counted in ``skipped_lines``), not stop or go round in a crash loop."""

    type = "fragile"
    example: ClassVar[dict[str, Any]] = {}

    def observe(self, event: EventLike) -> bool:
        if "POISON" in event.message:
            raise ValueError("cannot handle this line")
        return False

    def findings(self) -> list[LogFinding]:
        return []
