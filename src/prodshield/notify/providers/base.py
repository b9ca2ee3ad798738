"""The one Protocol every notifier implements, and what a delivery attempt gets to work with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

from prodshield.notify.event import Event

if TYPE_CHECKING:  # a delivery makes the session; building a notifier needs no aiohttp
    import aiohttp


class DeliveryJournal(Protocol):
    """A provider's one way to the store: what it may keep on its outbox row between attempts,
    read of its thread, and the destinations that live in the store (status page subscribers).

    A provider whose API returns the id of what it created (Slack's message ``ts``) records it
    right after the call, before the row is marked sent; an attempt after a crash in between
    finds it in ``previous`` and edits that message instead of sending a second one.
    """

    previous: dict[str, Any] | None
    """What an earlier attempt of this row recorded (None: nothing, or the first attempt)."""

    async def record(self, progress: dict[str, Any]) -> None:
        """Keep ``progress`` on this row now (it becomes the row's result unless replaced)."""
        ...

    async def earlier(self, event_type: str) -> tuple[Event, dict[str, Any]] | None:
        """The latest earlier event of ``event_type`` in this row's thread (same notifier and
        subject) with what its delivery recorded, if one was recorded."""
        ...

    async def subscriber(self, sub_id: int) -> Any:
        """The status page subscription ``sub_id`` (a ``status_subscribers`` row), None when it
        is gone (unsubscribed or removed)."""
        ...


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
    journal: DeliveryJournal | None = None
    """The row's journal, the provider's only way to the store (None when a provider is called
    outside the outbox)."""


ConfigModel = type[BaseModel]
"""A notifier's pydantic config model (named, because ``type`` is the members' key)."""


@runtime_checkable
class Notifier(Protocol):
    """Delivers one event to one destination.

    ``send`` returns a small JSON-able result kept in the outbox (issue number, message id...).
    It raises ``NotifyError(permanent=True)`` when retrying cannot help (bad credentials, 4xx) and
    ``NotifyError(retry_after=...)`` for rate limits, 5xx and network failures. It must be safe to
    call again for the same event after a crash: providers that can (GitHub) check first.
    """

    type: ClassVar[str]
    """The config `type:` this notifier answers to (the family's key)."""
    example: ClassVar[dict[str, Any]]
    """A ``notifiers:`` entry that validates against ``config_model`` (docs, registry test)."""
    config_model: ClassVar[ConfigModel]

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]: ...

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or stored errors (tokens, URLs with keys)."""
        ...


# --- paging services (PagerDuty, Opsgenie): an alert per incident ----------------------------

TRIGGER, ACKNOWLEDGE, RESOLVE, NOTE = "trigger", "acknowledge", "resolve", "note"

PAGE_ACTIONS: dict[str, str] = {
    "incident.opened": TRIGGER,
    "incident.updated": TRIGGER,
    "incident.reminder": TRIGGER,
    "incident.acknowledged": ACKNOWLEDGE,
    "incident.resolved": RESOLVE,
    "incident.note": NOTE,
    "log.critical": TRIGGER,
    "audit.failed": TRIGGER,
    "experiment.deviated": TRIGGER,
    "store.warning": TRIGGER,
}
"""What a paging service does for each event type; a type not listed (``digest``) pages no one,
and ``test`` triggers and at once resolves an alert of its own."""


def page_action(event: Event) -> str | None:
    return PAGE_ACTIONS.get(event.type)


def alert_key(event: Event) -> str:
    """The alert's identity at the paging service (PagerDuty ``dedup_key``, Opsgenie ``alias``).

    The event's subject: every event of one incident (``incident:CHECK:ENV``) has it, so the
    resolve names the very alert the trigger opened, even from a run whose store was lost. A
    ``test`` event gets a key of its own so it never touches a real alert.
    """
    return f"test:{event.key}" if event.type == "test" else event.subject
