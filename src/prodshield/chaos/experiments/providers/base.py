"""The Provider Protocol every member of ``providers/`` implements."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# Runs one shield.yaml check once: (check name, environment or None) -> (passed, one-line detail).
# The CLI hands it in (chaos does not import monitor); None when no shield.yaml was given.
CheckRunner = Callable[[str, str | None], tuple[bool, str]]


@dataclass
class ActivityContext:
    """What a provider may use besides its own (already substituted) provider block."""

    activity_name: str
    activity_type: str  # "probe" or "action"
    configuration: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None  # the activity's own ``timeout``, if any
    run_check: CheckRunner | None = None  # for ``type: check`` (set from ``chaos run -c``)
    proxy_api: str | None = None
    """The fault proxy API a ``type: toxic`` provider without ``api`` talks to (``chaos run``:
    $PRODSHIELD_PROXY_API, else shield.yaml's ``chaos.api``); None: Toxiproxy's 8474."""


@runtime_checkable
class Provider(Protocol):
    """One ``provider.type``: validates its block at load time and runs it."""

    type: str
    example: Mapping[str, Any]  # a provider block that validates, for docs and the registry test

    def validate(self, provider: Mapping[str, Any]) -> list[str]:
        """Problems with the provider block (empty when valid); no I/O beyond local lookups."""
        ...

    def run(self, provider: Mapping[str, Any], context: ActivityContext) -> Any:
        """Do the work and return the activity's output; raise ActivityFailed on failure."""
        ...
