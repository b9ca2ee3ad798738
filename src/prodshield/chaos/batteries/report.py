"""Verdicts: a battery is a list of checks, each passed or not with the numbers that decided it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prodshield import __version__


@dataclass
class BatteryCheck:
    """One property of the system under test, and what was measured."""

    name: str
    passed: bool
    summary: str
    measured: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    skipped: bool = False  # not applicable (e.g. no counter when the proxy is down)


@dataclass
class BatteryReport:
    battery: str
    target: str
    checks: list[BatteryCheck] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    ended: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed or c.skipped for c in self.checks) and bool(self.checks)

    def add(self, check: BatteryCheck) -> BatteryCheck:
        self.checks.append(check)
        return check

    def to_journal(self) -> dict[str, Any]:
        """A Chaos Toolkit-shaped journal: one probe per check; deviated when one failed."""

        def iso(ts: float) -> str:
            return datetime.fromtimestamp(ts, UTC).isoformat()

        end = self.ended or time.time()
        runs = []
        t = self.started
        for check in self.checks:
            runs.append(
                {
                    "activity": {
                        "type": "probe",
                        "name": check.name,
                        "provider": {"type": "battery", "battery": self.battery},
                    },
                    "status": "succeeded",
                    "output": {"summary": check.summary, **check.measured},
                    "start": iso(t),
                    "end": iso(t + check.duration),
                    "duration": check.duration,
                    "tolerance_met": check.passed or check.skipped,
                }
            )
            t += check.duration
        return {
            "prodshield-version": __version__,
            "experiment": {
                "title": f"prodshield chaos {self.battery}: {self.target}",
                "description": f"the {self.battery} battery",
                "parameters": self.parameters,
            },
            "start": iso(self.started),
            "end": iso(end),
            "duration": end - self.started,
            "status": "completed",
            "deviated": not self.passed,
            "steady_states": {
                "before": None,
                "after": {"steady_state_met": self.passed, "probes": runs},
                "during": [],
            },
            "run": [],
            "rollbacks": [],
        }
