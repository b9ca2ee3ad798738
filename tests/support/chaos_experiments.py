"""Functions the experiment tests call through the python provider, and the steady state the
chaos journeys' experiments share."""

from __future__ import annotations

from typing import Any

from prodshield.chaos.experiments import InterruptExecution


def api_check_passes(env: str | None = None) -> dict[str, Any]:
    """An experiment's steady-state hypothesis: shield.yaml's ``api`` check passes (in ``env``
    when given)."""
    provider: dict[str, Any] = {"type": "check", "name": "api"}
    if env is not None:
        provider["env"] = env
    probe = {"type": "probe", "name": "api-check", "tolerance": True, "provider": provider}
    return {"title": "the api check passes", "probes": [probe]}


def interrupt() -> None:
    raise InterruptExecution("asked to stop by the experiment")


def divide_by_zero() -> float:
    return 1 / 0
