"""Per-target state kept across runs: last result and consecutive failure/success counts.

Incidents (opened after N failures, resolved after M successes) build on these counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_

from prodshield.monitor.incident_machine import check_status, kind_of
from prodshield.monitor.result import CheckResult
from prodshield.store import Store
from prodshield.store import tables as t


@dataclass(slots=True)
class CheckState:
    check: str
    environment: str
    status: str = "unknown"  # up | down | degraded | unknown
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_ts: float | None = None
    last_ok: bool | None = None
    last_error_kind: str | None = None

    def apply(self, result: CheckResult) -> None:
        if result.ok:
            self.consecutive_successes += 1
            self.consecutive_failures = 0
        else:
            self.consecutive_failures += 1
            self.consecutive_successes = 0
        error = result.error.kind if result.error else None
        failed = [c for c in result.conditions if not c.ok]
        self.status = check_status(result.ok, kind_of("", failed, error))
        self.last_ts = result.ts
        self.last_ok = result.ok
        self.last_error_kind = result.error.kind if result.error else None

    def as_row(self) -> dict[str, Any]:
        return {
            "check_name": self.check,
            "environment": self.environment,
            "status": self.status,
            "consecutive_failures": self.consecutive_failures,
            "consecutive_successes": self.consecutive_successes,
            "last_ts": self.last_ts,
            "last_ok": self.last_ok,
            "last_error_kind": self.last_error_kind,
            "updated_at": time.time(),
        }


class StateBook:
    """In-memory states, loaded from and written back to ``check_state``."""

    def __init__(self) -> None:
        self.states: dict[tuple[str, str], CheckState] = {}

    def load(self, store: Store, keys: list[tuple[str, str]] | None = None) -> None:
        s = t.check_state
        query = select(s)
        if keys is not None and len(keys) <= 500:
            query = query.where(tuple_(s.c.check_name, s.c.environment).in_(keys))
        with store.connect() as conn:
            for row in conn.execute(query):
                self.states[(row.check_name, row.environment)] = CheckState(
                    row.check_name,
                    row.environment,
                    row.status,
                    row.consecutive_failures,
                    row.consecutive_successes,
                    row.last_ts,
                    row.last_ok,
                    row.last_error_kind,
                )

    def apply(self, result: CheckResult) -> CheckState:
        key = (result.check, result.environment)
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = CheckState(result.check, result.environment)
        state.apply(result)
        return state
