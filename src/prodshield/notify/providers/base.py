"""The one Protocol every notifier implements, and what a delivery attempt gets to work with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import aiohttp
from pydantic import BaseModel

from prodshield.notify.event import Event


@dataclass
class DeliveryContext:
    """Per-attempt facts a provider may use: the shared HTTP session and which attempt this is.

    ``attempt`` counts from 1; above 1 an earlier attempt may have got as far as the provider
    (then the worker died or timed out), so providers that can check for earlier delivery do.
    """

    session: aiohttp.ClientSession
    notifier: str
    attempt: int = 1
    timeout: float = 10.0
    marker_key: bytes = b""
    """The installation's key for hidden thread markers (notify/markers.py)."""


@runtime_checkable
class Notifier(Protocol):
    """Delivers one event to one destination.

    ``send`` returns a small JSON-able result kept in the outbox (issue number, message id...).
    It raises ``NotifyError(permanent=True)`` when retrying cannot help (bad credentials, 4xx) and
    ``NotifyError(retry_after=...)`` for rate limits, 5xx and network failures. It must be safe to
    call again for the same event after a crash: providers that can (GitHub) check first.
    """

    kind: ClassVar[str]
    """The config `type:` this notifier answers to."""
    config_model: ClassVar[type[BaseModel]]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]: ...

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or stored errors (tokens, URLs with keys)."""
        ...
