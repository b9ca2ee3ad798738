"""Notifications: events queued in the store's outbox and delivered by the notifiers.

Capabilities call :func:`enqueue` with an :class:`Event`; the service's :class:`OutboxWorker` or a
one-shot :func:`deliver_pending` sends them. See docs/notify.md.
"""

from prodshield.notify.event import EVENT_TYPES, Event
from prodshield.notify.outbox import (
    OutboxRow,
    OutboxStatus,
    RetryPolicy,
    enqueue,
    retry_dead,
    status,
)
from prodshield.notify.worker import (
    DeliveryReport,
    OutboxWorker,
    deliver,
    deliver_pending,
)

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
