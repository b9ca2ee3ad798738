"""The one Protocol every check type implements, and what a check hands back.

A check type observes its target and reports *facts* (the values placeholders read, such as
``STATUS`` or ``CERTIFICATE_EXPIRATION``), phase timings and, when the target could not be reached
or answered nonsense, an error. Conditions are evaluated by the runner, not by the check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from prodshield.config.types import format_duration
from prodshield.monitor.result import CheckError, ErrorKind

if TYPE_CHECKING:
    from prodshield.monitor.probe import Probe
    from prodshield.monitor.target import Target


@dataclass(slots=True)
class Observation:
    """What a check saw: facts for conditions, an error if any, timings in milliseconds."""

    facts: dict[str, Any] = field(default_factory=dict)
    error: CheckError | None = None
    timings: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    """Values the check learned that must not be kept whole (a captured token): the runner
    masks them in the result's error and condition values."""

    def fail(self, kind: ErrorKind, message: str) -> Observation:
        self.error = CheckError(kind, message)
        return self


class Stopwatch:
    """One connection attempt's clock (the socket checks share it): when it started, connected
    and got its first answer, turned into the phase timings a result keeps (milliseconds)."""

    __slots__ = ("connected", "first", "start")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.connected: float | None = None
        self.first: float | None = None

    def mark_connected(self) -> None:
        self.connected = time.perf_counter()

    def mark_first(self) -> None:
        self.first = time.perf_counter()

    def failed(
        self, obs: Observation, exc: BaseException, timeout: float, host: str, port: int
    ) -> None:
        """Record why the attempt ended (``classify``); a timeout says which phase it ran out in."""
        from prodshield.monitor.failures import classify  # (aiohttp) when a check fails

        obs.error = classify(exc, timeout, host, port)
        if obs.error.kind == "timeout":
            what = "an answer" if self.connected else "a connection"
            obs.fail("timeout", f"no {what} within {format_duration(timeout)}")

    def timings(self, *, first_byte: bool = False) -> dict[str, float | None]:
        """``connect`` (None when it never connected), ``first_byte`` when asked, ``total``."""
        end = time.perf_counter()
        out: dict[str, float | None] = {
            "connect": (self.connected - self.start) * 1000 if self.connected else None
        }
        if first_byte:
            out["first_byte"] = (self.first - self.start) * 1000 if self.first else None
        out["total"] = (end - self.start) * 1000
        return out


@runtime_checkable
class Check(Protocol):
    """A check type: ``type`` is the ``type:`` in shield.yaml."""

    type: ClassVar[str]
    example: ClassVar[dict[str, Any]]
    """A ``checks:`` entry of this type (without ``name``) that validates: docs and tests."""
    placeholders: ClassVar[frozenset[str]]
    """The placeholders this type provides (conditions may use only these)."""
    default_conditions: ClassVar[tuple[str, ...]]
    """Used when a check lists no conditions."""

    async def observe(self, target: Target, probe: Probe) -> Observation:
        """Probe the target once, within ``target.timeout``; never raise for a bad target."""
        ...
