"""The one Protocol every check type implements, and what a check hands back.

A check type observes its target and reports *facts* (the values placeholders read, such as
``STATUS`` or ``CERTIFICATE_EXPIRATION``), phase timings and, when the target could not be reached
or answered nonsense, an error. Conditions are evaluated by the runner, not by the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

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
