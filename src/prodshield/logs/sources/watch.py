"""The health of a followed source: how far behind the follower is, whether the source went
silent beyond its usual gap, and whether it grows past its volume budget.

Lag is bytes (file size minus the read offset) and seconds (since the follower was last caught
up). Silence: a source with ``silent_after`` set is silent after that long without a line;
otherwise, once it has shown at least :data:`LEARN_GAPS` gaps between arrivals, after
``SILENT_FACTOR`` times its longest recent gap (never under :data:`MIN_SILENCE` seconds). The
volume budget (``max_lines_per_hour``, ``max_bytes_per_hour``) counts per wall-clock hour.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from prodshield.config.types import format_duration
from prodshield.logs.findings import LogFinding

LEARN_GAPS = 20
SILENT_FACTOR = 5.0
MIN_SILENCE = 300.0


class SourceWatch:
    """Arrivals, lag and volume of one configured source (all its files)."""

    def __init__(self, source: Any, now: float) -> None:
        self.source = source
        self.name = str(source.name)
        self.last_arrival: float | None = None
        self.gaps: deque[float] = deque(maxlen=100)
        self.hour = int(now // 3600)
        self.lines_hour = 0
        self.bytes_hour = 0
        self.started = now
        self.silent_reported = False
        self.budget_reported = -1

    # --- what the follower saw ----------------------------------------------------------------

    def arrived(self, lines: int, nbytes: int, now: float) -> None:
        hour = int(now // 3600)
        if hour != self.hour:
            self.hour, self.lines_hour, self.bytes_hour = hour, 0, 0
        self.lines_hour += lines
        self.bytes_hour += nbytes
        if self.last_arrival is not None:
            self.gaps.append(now - self.last_arrival)
        self.last_arrival = now
        self.silent_reported = False

    # --- findings ---------------------------------------------------------------------------

    def silence_limit(self) -> float | None:
        configured = getattr(self.source, "silent_after", None)
        if configured:
            return float(configured)
        if len(self.gaps) < LEARN_GAPS:
            return None
        return max(MIN_SILENCE, SILENT_FACTOR * max(self.gaps))

    def findings(self, now: float) -> list[LogFinding]:
        out: list[LogFinding] = []
        limit = self.silence_limit()
        since = self.last_arrival if self.last_arrival is not None else self.started
        if limit is not None and now - since >= limit:
            usual = (
                f"usually a line every {format_duration(sorted(self.gaps)[len(self.gaps) // 2])}"
                if self.gaps
                else f"silent_after {format_duration(limit)}"
            )
            out.append(
                LogFinding(
                    "critical",
                    "source_silent",
                    "high",
                    count=1,
                    first_seen=_dt(since),
                    last_seen=_dt(now),
                    source={"log_source": self.name},
                    details={"silent_s": round(now - since, 1), "limit_s": limit},
                    message=(
                        f"log source {self.name} has written nothing for "
                        f"{format_duration(now - since)} ({usual})"
                    ),
                )
            )
        max_lines = getattr(self.source, "max_lines_per_hour", None)
        max_bytes = getattr(self.source, "max_bytes_per_hour", None)
        over = []
        if max_lines and self.lines_hour > max_lines:
            over.append(f"{self.lines_hour} lines (budget {max_lines})")
        if max_bytes and self.bytes_hour > max_bytes:
            over.append(f"{self.bytes_hour / 1e6:.1f} MB (budget {max_bytes / 1e6:.1f} MB)")
        if over:
            out.append(
                LogFinding(
                    "critical",
                    "log_volume_budget",
                    "high",
                    count=self.lines_hour,
                    first_seen=_dt(self.hour * 3600.0),
                    last_seen=_dt(now),
                    source={"log_source": self.name},
                    details={
                        "lines_this_hour": self.lines_hour,
                        "bytes_this_hour": self.bytes_hour,
                        "max_lines_per_hour": max_lines,
                        "max_bytes_per_hour": max_bytes,
                    },
                    message=f"log source {self.name} grew past its volume budget this hour: "
                    + ", ".join(over),
                )
            )
        return out


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
