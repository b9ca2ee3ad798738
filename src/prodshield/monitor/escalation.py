"""Escalation: an incident nobody acknowledged pages the next level of its policy.

A policy (``escalations:`` in shield.yaml) is a list of levels, each an ``after`` and the
notifiers it pages. The check's own ``alerts`` are told at once; a level is told once, when the
incident is still open and unacknowledged ``after`` seconds after it opened (judged at each of the
check's results, so within one interval). Acknowledging (dashboard, API, CLI, or PagerDuty's own
acknowledge coming back through its webhook) stops it; a silenced or suppressed incident does not
escalate while it stays so. The notifiers of every level reached also get the acknowledgement and
the resolution, so each page they got is cleared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def due_levels(
    afters: Sequence[float],
    opened_at: float,
    now: float,
    *,
    acknowledged: bool,
    reached: set[int],
) -> list[int]:
    """The levels (1-based) to notify now: unacknowledged for their ``after``, not yet reached."""
    if acknowledged:
        return []
    waited = now - opened_at
    return [i for i, after in enumerate(afters, 1) if i not in reached and waited >= after]


def reached(refs: Any) -> list[dict[str, Any]]:
    """The levels an incident reached (``refs.escalated``), oldest first."""
    return list((refs or {}).get("escalated") or [])


def audience(own: Sequence[str], refs: Any) -> tuple[str, ...]:
    """The check's notifiers and those of every level the incident reached, each once."""
    out = list(own)
    for entry in reached(refs):
        out.extend(n for n in entry.get("notify") or [] if n not in out)
    return tuple(out)
