"""Rollbacks: whether to play them (``default``/``always``/``never``/``deviated``) and playing them.

Chaos Toolkit's rules: ``default`` plays them unless the run failed or was interrupted, ``always``
and ``never`` say what they mean, ``deviated`` plays them only when the steady state deviated.
prodshield adds one rule for interrupted runs: a rollback that names the action it reverts
(``undoes: action-name``) is played when, and only when, that action started, so what ran is
rolled back and what never ran is not touched. A run aborted by a guardrail check (``chaos run
--abort-on-check``) is played back under ``default``, ``always`` and ``deviated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from prodshield.chaos.experiments.activity import (
    Run,
    RunContext,
    background_pool,
    run_activities,
)
from prodshield.chaos.experiments.strategy import RollbackStrategy


def should_play(strategy: RollbackStrategy, journal: Mapping[str, Any]) -> bool:
    status = journal.get("status")
    if strategy is RollbackStrategy.ALWAYS:
        return True
    if strategy is RollbackStrategy.NEVER:
        return False
    if strategy is RollbackStrategy.DEVIATED:  # a guardrail's abort is production deviating
        return bool(journal.get("deviated") or journal.get("aborted_by"))
    return status not in ("failed", "interrupted")


def select_rollbacks(
    strategy: RollbackStrategy, journal: Mapping[str, Any], ctx: RunContext
) -> list[dict[str, Any]]:
    """The rollbacks to play for this journal, in order."""
    rollbacks: list[dict[str, Any]] = list(ctx.experiment.get("rollbacks") or [])
    interrupted = journal.get("status") == "interrupted"
    if should_play(strategy, journal):
        if not interrupted:
            return rollbacks
        # interrupted: a rollback tied to an action that never started has nothing to undo
        return [
            r for r in rollbacks if r.get("undoes") is None or r["undoes"] in ctx.started_actions
        ]
    if interrupted and strategy is not RollbackStrategy.NEVER:
        return [r for r in rollbacks if r.get("undoes") in ctx.started_actions]
    return []


def skipped_rollbacks(
    strategy: RollbackStrategy,
    journal: Mapping[str, Any],
    ctx: RunContext,
    selected: list[dict[str, Any]],
) -> list[tuple[str, str]]:
    """The experiment's rollbacks not in ``selected``, each with why (name, reason)."""
    result = []
    chosen = {id(r) for r in selected}
    status = journal.get("status")
    for rollback in ctx.experiment.get("rollbacks") or []:
        if id(rollback) in chosen:
            continue
        name = str(rollback.get("name") or rollback.get("ref") or "unnamed")
        undoes = rollback.get("undoes") if isinstance(rollback, Mapping) else None
        if strategy is RollbackStrategy.NEVER:
            reason = "rollback strategy never"
        elif undoes is not None and undoes not in ctx.started_actions:
            reason = f"the action it undoes, {undoes}, never started"
        elif strategy is RollbackStrategy.DEVIATED:
            reason = "rollback strategy deviated and the steady state did not deviate"
        else:
            reason = f"rollback strategy {strategy.value} and the run {status}"
        result.append((name, reason))
    return result


def run_rollbacks(rollbacks: list[dict[str, Any]], ctx: RunContext, runs: list[Run]) -> None:
    """Play ``rollbacks`` in order (background ones in parallel) and wait for all of them."""
    pool = background_pool(rollbacks)
    futures: list[Future[Run]] = []
    try:
        for item in run_activities(rollbacks, ctx, pool, runs):
            if isinstance(item, Future):
                futures.append(item)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
