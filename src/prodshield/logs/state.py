"""Saving and loading the miner and the per-template statistics in the store."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete

from prodshield.logs.findings import sealed_templates
from prodshield.logs.templates import MinerConfig, TemplateMiner
from prodshield.secrets.redaction import redact_text
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.text import reclip

KV_NAMESPACE = "logs"
KV_KEY = "miner"


def load_miner(store: Store, config: MinerConfig | None = None) -> TemplateMiner:
    """The miner saved by :func:`save_miner`, or a new one; what it resumes from is
    :func:`without_secrets` first."""
    state = store.kv_get(KV_NAMESPACE, KV_KEY)
    return TemplateMiner.from_state(without_secrets(state or {}), config)


def without_secrets(state: dict[str, Any]) -> dict[str, Any]:
    """A saved miner state with no secret in it: a version that learnt lines as they were (before
    the miner learnt them with their secrets as variables) saved clusters whose template holds a
    token or a password, and examples with them in. Such a cluster is left out (the miner learns
    its lines again, redacted), and every example is redacted, so nothing an older version kept
    reaches a template, an example or the next save."""
    clusters = state.get("clusters") if isinstance(state, dict) else None
    if not isinstance(clusters, list):
        return state
    kept = []
    for item in clusters:
        if not isinstance(item, dict) or _holds_secret(item):
            continue
        stats = item.get("stats")
        if isinstance(stats, dict):
            item = {
                **item,
                "stats": {
                    k: [v[0], redact_text(str(v[1])), *v[2:]]
                    if isinstance(v, list) and len(v) >= 2
                    else v
                    for k, v in stats.items()
                },
            }
        kept.append(item)
    return {**state, "clusters": kept}


def _holds_secret(item: dict[str, Any]) -> bool:
    """Whether a saved cluster's template words, first line or variable values hold a secret."""
    words: list[str] = []
    for key in ("tokens", "first"):
        if isinstance(item.get(key), list):
            words.append(" ".join(map(str, item[key])))
    words.extend(_strings([item.get("values"), item.get("gen"), item.get("subs")]))
    return any(redact_text(text) != text for text in words)


def _strings(value: Any, depth: int = 0) -> list[str]:
    """The strings in a saved cluster's values (a dict's keys and values, a list's items)."""
    if isinstance(value, str):
        return [value]
    if depth > 4:
        return []
    if isinstance(value, dict):
        return [
            s for k, v in value.items() for s in (*_strings(k, depth + 1), *_strings(v, depth + 1))
        ]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v, depth + 1)]
    return []


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
