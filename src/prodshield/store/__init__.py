"""The store: SQLite by default, PostgreSQL for several instances, behind one interface."""

from prodshield.store.engine import normalize_url, redact_url
from prodshield.store.retention import PruneReport, prune, rollup
from prodshield.store.store import ComponentVersion, Store, open_store

__all__ = [
    "ComponentVersion",
    "PruneReport",
    "Store",
    "normalize_url",
    "open_store",
    "prune",
    "redact_url",
    "rollup",
]
