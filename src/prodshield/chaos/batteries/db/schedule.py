"""The seeded fault schedule the bank test cycles through (same seed, same schedule)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from prodshield.chaos.batteries.faults import FAULTS


@dataclass
class Phase:
    at: float
    fault: str
    params: dict[str, Any]


def fault_schedule(seed: int, seconds: float, phase_s: float, gap_s: float) -> list[Phase]:
    """The faults and their parameters over the run; the same seed gives the same schedule."""
    rng = random.Random(seed)
    order: list[str] = []
    phases: list[Phase] = []
    t = gap_s
    while t + phase_s <= seconds:
        if not order:  # every fault once per cycle, in a seeded order
            order = list(FAULTS)
            rng.shuffle(order)
        fault = order.pop(0)
        params: dict[str, Any] = {}
        if fault == "timeout":
            params = {"timeout_ms": rng.choice([50, 100, 200])}
        elif fault == "reset_peer":
            params = {"timeout_ms": 0}
        elif fault == "limit_data":
            params = {"bytes": rng.randint(200, 2000)}
        elif fault == "latency":
            params = {"latency_ms": rng.randint(1, 4)}
        phases.append(Phase(round(t, 3), fault, params))
        t += phase_s + gap_s
    return phases
