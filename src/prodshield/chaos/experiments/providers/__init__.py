"""Experiment providers: one module per ``provider.type``, each exposing ``PROVIDER``.

The Protocol is declared once in :mod:`.base`; :data:`REGISTRY` maps a type to its module, which is
imported only when an experiment uses it (start-up stays fast). Adding a provider is adding one
module here and one line in :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib

from prodshield.chaos.experiments.providers.base import ActivityContext, CheckRunner, Provider

REGISTRY: dict[str, str] = {
    "python": "prodshield.chaos.experiments.providers.python",
    "process": "prodshield.chaos.experiments.providers.process",
    "http": "prodshield.chaos.experiments.providers.http",
    "toxic": "prodshield.chaos.experiments.providers.toxic",
    "sql": "prodshield.chaos.experiments.providers.sql",
    "signal": "prodshield.chaos.experiments.providers.signal",
    "load": "prodshield.chaos.experiments.providers.load",
    "check": "prodshield.chaos.experiments.providers.check",
}

_loaded: dict[str, Provider] = {}


def get_provider(provider_type: str) -> Provider:
    """The provider for ``provider_type`` (imported on first use); KeyError if unknown."""
    found = _loaded.get(provider_type)
    if found is None:
        module = importlib.import_module(REGISTRY[provider_type])
        found = module.PROVIDER
        _loaded[provider_type] = found
    return found


__all__ = ["REGISTRY", "ActivityContext", "CheckRunner", "Provider", "get_provider"]
