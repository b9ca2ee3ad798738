"""When the steady-state hypothesis runs, and which modes ``--dry`` knows (Chaos Toolkit's names)."""

from __future__ import annotations

from enum import StrEnum


class _Values(StrEnum):
    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]


class HypothesisStrategy(_Values):
    DEFAULT = "default"  # before and after the method
    BEFORE_METHOD = "before-method-only"
    AFTER_METHOD = "after-method-only"
    DURING_METHOD = "during-method-only"  # repeatedly while the method runs
    CONTINUOUS = "continuously"  # before, during and after

    @classmethod
    def parse(cls, value: str | None) -> HypothesisStrategy:
        if value is None:
            return cls.DEFAULT
        if value == "continously":  # Chaos Toolkit accepts this spelling too
            return cls.CONTINUOUS
        return cls(value)

    @property
    def before(self) -> bool:
        return self in (
            HypothesisStrategy.DEFAULT,
            HypothesisStrategy.BEFORE_METHOD,
            HypothesisStrategy.CONTINUOUS,
        )

    @property
    def after(self) -> bool:
        return self in (
            HypothesisStrategy.DEFAULT,
            HypothesisStrategy.AFTER_METHOD,
            HypothesisStrategy.CONTINUOUS,
        )

    @property
    def during(self) -> bool:
        return self in (HypothesisStrategy.DURING_METHOD, HypothesisStrategy.CONTINUOUS)


class RollbackStrategy(_Values):
    DEFAULT = "default"  # play unless the run failed or was interrupted
    ALWAYS = "always"
    NEVER = "never"
    DEVIATED = "deviated"  # only when the steady state deviated


class Dry(_Values):
    PROBES = "probes"  # probes are not run (and tolerances not checked)
    ACTIONS = "actions"
    ACTIVITIES = "activities"
    PAUSE = "pause"  # pauses are skipped

    def skips(self, activity_type: str) -> bool:
        if self is Dry.ACTIVITIES:
            return True
        return (self is Dry.PROBES and activity_type == "probe") or (
            self is Dry.ACTIONS and activity_type == "action"
        )
