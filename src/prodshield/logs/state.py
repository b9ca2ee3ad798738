"""Saving and loading the miner and the per-template statistics in the store."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete

from prodshield.logs.findings import sealed_templates
from prodshield.logs.templates import MinerConfig, TemplateMiner
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.text import reclip

KV_NAMESPACE = "logs"
KV_KEY = "miner"


def load_miner(store: Store, config: MinerConfig | None = None) -> TemplateMiner:
    """The miner saved by :func:`save_miner`, or a new one."""
    state = store.kv_get(KV_NAMESPACE, KV_KEY)
    return TemplateMiner.from_state(state or {}, config)


def save_miner(store: Store, miner: TemplateMiner, source: str | None = None) -> int:
    """Save the miner's state (kv) and its templates (``log_templates``); returns the count."""
    templates = sealed_templates(miner.templates())
    store.kv_set(KV_NAMESPACE, KV_KEY, miner.state())
    with store.begin() as conn:
        conn.execute(delete(t.log_templates))
        if templates:
            conn.execute(
                t.log_templates.insert(),
                [
                    {
                        "id": tpl.id,
                        "template": tpl.template,
                        "count": tpl.count,
                        "first_seen": tpl.first_seen,
                        "last_seen": tpl.last_seen,
                        "example": reclip(tpl.example, 2000),
                        "source": source,
                    }
                    for tpl in templates
                ],
            )
    return len(templates)


def mark_deploy(store: Store, label: str | None = None, at: float | None = None) -> dict[str, Any]:
    """Record a deploy: templates first seen after it are shown as new (dashboard and API)."""
    marker = {"at": at if at is not None else time.time(), "label": (label or "")[:200] or None}
    store.kv_set(KV_NAMESPACE, "deploy", marker)
    return marker
