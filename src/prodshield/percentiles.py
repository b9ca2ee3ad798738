"""Nearest-rank percentiles: the one definition the monitor's rollups, the log detectors and the
chaos load provider quote (a pure function, so a log command need not import the store)."""

from __future__ import annotations

import math


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (``q`` in 0..100); None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
