"""What one run of one check produced: ok or failed, why, how long, and each condition's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from prodshield.conditions import ConditionOutcome
from prodshield.secrets.redaction import redact_text
from prodshield.text import clip

MAX_ERROR = 1000

ErrorKind = Literal["refused", "timeout", "dns", "tls", "reset", "protocol", "condition"]
ERROR_KINDS: tuple[str, ...] = get_args(ErrorKind)
TIMING_PHASES = ("dns", "connect", "tls", "first_byte", "total")


@dataclass(frozen=True, slots=True)
class CheckError:
    """A failure: one kind from the fixed list and a one-line message."""

    kind: ErrorKind
    message: str

    def __post_init__(self) -> None:
        # The message quotes the target (its answer, its URL): redacted and bounded once, here.
        object.__setattr__(self, "message", redact_text(clip(str(self.message), MAX_ERROR)))

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(slots=True)
class CheckResult:
    """One check, one environment, one run."""

    check: str
    environment: str
    ts: float
    ok: bool
    error: CheckError | None
    response_time_ms: float | None
    conditions: list[ConditionOutcome] = field(default_factory=list)
    timings: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``monitor once --format json``."""
        return {
            "check": self.check,
            "environment": self.environment or None,
            "ok": self.ok,
            "error": self.error.as_dict() if self.error else None,
            "response_time_ms": _round(self.response_time_ms),
            "conditions": [c.as_dict() for c in self.conditions],
            "timings": {k: _round(self.timings.get(k)) for k in TIMING_PHASES},
        }

    def as_row(self) -> dict[str, Any]:
        """A row of ``check_results``."""
        return {
            "check_name": self.check,
            "environment": self.environment,
            "ts": self.ts,
            "ok": self.ok,
            "response_time_ms": _round(self.response_time_ms),
            "error_kind": self.error.kind if self.error else None,
            "error_message": self.error.message if self.error else None,
            "conditions": [c.as_dict() for c in self.conditions] or None,
            "timings": {k: _round(v) for k, v in self.timings.items() if v is not None} or None,
            "details": self.details or None,
            "maintenance": False,
            "instance": None,
            "location": None,
            "degraded": self.degraded or None,
        }

    @property
    def degraded(self) -> bool:
        """Failed only on conditions about the quality of an answer (a certificate close to
        expiry, a slow answer): the check is degraded, and the uptime figures do not count this
        result as downtime (see :data:`~prodshield.monitor.incident_machine.WARNING_KINDS`)."""
        if self.ok:
            return False
        from prodshield.monitor.incident_machine import WARNING_KINDS, kind_of

        failed = [c for c in self.conditions if not c.ok]
        return kind_of("", failed, self.error.kind if self.error else None) in WARNING_KINDS


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)
