"""Notifications: events queued in the store's outbox and delivered by the notifiers.

Capabilities call :func:`enqueue` with an :class:`Event`; the service's :class:`OutboxWorker` or a
one-shot :func:`deliver_pending` sends them. See docs/notify.md.
"""

from typing import TYPE_CHECKING, Any

from prodshield.notify.event import EVENT_TYPES, Event
from prodshield.notify.outbox import (
    OutboxRow,
    OutboxStatus,
    RetryPolicy,
    enqueue,
    retry_dead,
    status,
)

if TYPE_CHECKING:
    from prodshield.notify.worker import (
        DeliveryReport,
        OutboxWorker,
        deliver,
        deliver_pending,
    )

_WORKER = frozenset({"DeliveryReport", "OutboxWorker", "deliver", "deliver_pending"})


def __getattr__(name: str) -> Any:
    """The delivery side (``worker``: aiohttp and every provider) is imported when first used:
    a command that only reads or queues (``notify status``, ``incident list``) never pays for it."""
    if name in _WORKER:
        from prodshield.notify import worker

        return getattr(worker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EVENT_TYPES",
    "DeliveryReport",
    "Event",
    "OutboxRow",
    "OutboxStatus",
    "OutboxWorker",
    "RetryPolicy",
    "deliver",
    "deliver_pending",
    "enqueue",
    "retry_dead",
    "status",
]
