"""Guardrails around a run: refuse to start while incidents are open.

The open incidents come from the monitoring, handed in by the composition layer (``chaos run``,
``serve``): chaos does not import monitor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prodshield.text import plural

OpenIncidents = Callable[[str | None], list[dict[str, Any]]]
"""The open incidents of an environment (every environment for None), oldest first: dicts with
``id``, ``check``, ``environment``, ``kind``, ``opened_at``."""


def describe_incidents(incidents: Sequence[Mapping[str, Any]], limit: int = 5) -> str:
    """``#3 api (production) down since 2026-01-02 10:00 UTC; ...`` (the first ``limit``)."""
    listed = "; ".join(
        f"#{i['id']} {i['check']}"
        + (f" ({i['environment']})" if i.get("environment") else "")
        + f" {i['kind']} since {time.strftime('%Y-%m-%d %H:%M', time.gmtime(i['opened_at']))} UTC"
        for i in incidents[:limit]
    )
    more = f" and {len(incidents) - limit} more" if len(incidents) > limit else ""
    return listed + more


def refusal(incidents: Sequence[Mapping[str, Any]], env: str | None) -> str:
    """Why a run does not start: the open incidents, named."""
    where = f"in {env}" if env is not None else "in any environment"
    return (
        f"refusing to inject faults while {plural(len(incidents), 'incident')} "
        f"{'is' if len(incidents) == 1 else 'are'} open {where}: "
        f"{describe_incidents(incidents)}"
    )
