"""Functions the experiment tests call through the python provider."""

from __future__ import annotations

from prodshield.chaos.experiments import InterruptExecution


def interrupt() -> None:
    raise InterruptExecution("asked to stop by the experiment")


def divide_by_zero() -> float:
    return 1 / 0
