"""A check's state as every surface shows it: ``monitor status``, the web's pages and API, and
``/metrics`` all call :func:`shown_statuses`, so they never disagree.

The stored state (``check_state.status``: up, down, degraded, unknown) is shown as ``waiting``
for a heartbeat never pinged (unless it is down), and as ``maintenance`` inside a maintenance
window, whatever it is.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from sqlalchemy import select

from prodshield.config.schema import ShieldConfig
from prodshield.monitor.heartbeats import shown_status, waiting_targets
from prodshield.store import Store
from prodshield.store import tables as t

Key = tuple[str, str]
"""(check name, environment; "" when the check names none)."""

MAINTENANCE = "maintenance"
UNKNOWN = "unknown"


def stored_statuses(store: Store) -> dict[Key, str]:
    """``check_state.status`` of every target that has one."""
    s = t.check_state
    with store.connect() as conn:
        return {
            (a, b): c
            for a, b, c in conn.execute(select(s.c.check_name, s.c.environment, s.c.status))
        }


def in_maintenance(config: ShieldConfig, keys: Iterable[Key], now: float | None = None) -> set[Key]:
    """The targets among ``keys`` inside a maintenance window at ``now``."""
    if not config.maintenance:
        return set()
    from prodshield.monitor.maintenance import in_maintenance as covered

    now = time.time() if now is None else now
    return {k for k in keys if covered(config.maintenance, k[0], k[1], now)}


def shown_statuses(
    store: Store,
    config: ShieldConfig,
    keys: Iterable[Key],
    *,
    stored: Mapping[Key, str] | None = None,
    now: float | None = None,
) -> dict[Key, str]:
    """The state shown for each target of ``keys``: stored (``unknown`` before any result),
    ``waiting`` for a heartbeat never pinged, ``maintenance`` inside a window. ``stored``: the
    states when the caller has read them already."""
    stored = stored_statuses(store) if stored is None else stored
    out = {key: stored.get(key, UNKNOWN) for key in keys}
    for key in waiting_targets(store, config):
        if key in out:
            out[key] = shown_status(out[key], True)
    for key in in_maintenance(config, out, now):
        out[key] = MAINTENANCE
    return out
