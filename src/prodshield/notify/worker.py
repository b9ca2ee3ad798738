"""Delivery: claim due outbox rows, send each through its notifier, record the outcome.

``deliver`` / ``deliver_pending`` serve one-shot commands (a bounded wait; what is not delivered by
the deadline stays queued for the next run). ``OutboxWorker`` is the loop of the long-running
service. Both use the same ``_Deliverer``; store calls run in a thread so the event loop keeps
serving the other sends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from prodshield.config.notifiers import NotifierBase
from prodshield.errors import NotifyError, StoreError
from prodshield.notify import outbox
from prodshield.notify.event import Event
from prodshield.notify.markers import thread_key
from prodshield.notify.outbox import OutboxRow, RetryPolicy
from prodshield.notify.providers import DeliveryContext, Notifier, build
from prodshield.notify.redact import redact
from prodshield.notify.subscribers import SubscriberNotifier, SubscribersDelivery, load
from prodshield.store.store import Store
from prodshield.text import for_terminal, plural

log = logging.getLogger("prodshield.notify")

SENT, RETRY, DEAD = "sent", "retry", "dead"

LEASE_S = 15.0
"""How long a claim holds a row without renewal. The worker renews every third of it while its
sends run, so an alert held by a process that died goes out within about one lease."""
SEND_BOUND_S = 120.0
"""The longest one send may take (several provider calls, each with its own timeout)."""


@dataclass
class Outcome:
    """What one delivery attempt did."""

    row_id: int
    notifier: str
    key: str
    status: str
    """``sent``, ``retry`` (another attempt is scheduled) or ``dead``."""
    attempt: int
    error: str | None = None
    result: dict[str, Any] | None = None
    next_attempt_at: float | None = None


@dataclass
class DeliveryReport:
    outcomes: list[Outcome] = field(default_factory=list)
    pending: int = 0
    """Rows of the delivered notifiers still queued when the run ended."""

    def _count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def sent(self) -> int:
        return self._count(SENT)

    @property
    def retried(self) -> int:
        return self._count(RETRY)

    @property
    def dead(self) -> int:
        return self._count(DEAD)

    def summary(self, *, dead: int | None = None) -> str:
        """One line for a one-shot run: notifications sent, dead and still queued. ``retried``
        counts attempts, not notifications (one event retried 5 times is 5), so it is said as
        failed attempts after the counts, never beside them as if it were more notifications.
        ``dead``: the dead rows to tell instead of those that died in this run (`notify flush`
        tells every undelivered row the outbox holds)."""
        dead = self.dead if dead is None else dead
        line = f"{self.sent} sent, {dead} dead, {self.pending} still queued"
        if self.retried:
            line += f" after {plural(self.retried, 'failed attempt')}"
        return line


def new_owner() -> str:
    """A lease owner id: host, process and a random part (several workers may share a pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _RowJournal:
    """A row's ``DeliveryJournal``: progress kept in its ``result`` column, its thread read from
    the outbox (store calls in a thread, like the rest of the worker's)."""

    def __init__(self, store: Store, row: OutboxRow) -> None:
        self.store = store
        self.row = row
        self.previous = dict(row.result) if isinstance(row.result, dict) else None

    async def record(self, progress: dict[str, Any]) -> None:
        await asyncio.to_thread(outbox.record_progress, self.store, self.row.id, progress)

    async def earlier(self, event_type: str) -> tuple[Event, dict[str, Any]] | None:
        if not self.row.subject:
            return None
        found = await asyncio.to_thread(
            outbox.latest_in_thread,
            self.store,
            self.row.notifier,
            self.row.subject,
            event_type,
            before_id=self.row.id,
        )
        if found is None or found.result is None:
            return None
        try:
            return found.event, found.result
        except (ValueError, TypeError):
            return None

    async def subscriber(self, sub_id: int) -> Any:
        return await asyncio.to_thread(load, self.store, sub_id)


def policy_of(config: NotifierBase) -> RetryPolicy:
    return RetryPolicy(config.max_attempts, config.backoff, config.max_backoff)


class _Deliverer:
    def __init__(
        self,
        store: Store,
        notifiers_config: Mapping[str, NotifierBase],
        *,
        owner: str | None,
        lease_s: float,
        batch: int,
        concurrency: int,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.configs = {name: c for name, c in notifiers_config.items() if c.enabled}
        self.owner = owner or new_owner()
        self.lease_s = lease_s
        self.batch = batch
        self.semaphore = asyncio.Semaphore(concurrency)
        self.rng = rng
        self._built: dict[str, Notifier] = {}
        self._marker_key = b""

    def notifier(self, name: str) -> Notifier:
        if name not in self._built:
            config = self.configs[name]
            self._built[name] = (
                SubscriberNotifier(config)
                if isinstance(config, SubscribersDelivery)
                else build(config)
            )
        return self._built[name]

    def send_bound(self, config: NotifierBase) -> float:
        """A send is bounded by a few of its provider's call timeouts, never by the lease (which
        is renewed while the send runs)."""
        return min(SEND_BOUND_S, max(10.0, 3.0 * float(config.timeout)))

    async def _renew_until(self, done: asyncio.Event, ids: list[int]) -> None:
        every = max(0.5, self.lease_s / 3.0)
        while not done.is_set():
            try:
                await asyncio.wait_for(done.wait(), timeout=every)
                return
            except TimeoutError:
                pass
            try:
                await asyncio.to_thread(
                    outbox.renew, self.store, self.owner, ids, lease_s=self.lease_s
                )
            except StoreError as exc:  # the next renewal may succeed; the sends go on
                log.warning("outbox: lease renewal failed: %s", exc)

    async def run_once(
        self, session: aiohttp.ClientSession, ids: Collection[int] | None = None
    ) -> list[Outcome]:
        rows = await asyncio.to_thread(
            outbox.claim,
            self.store,
            self.owner,
            notifiers=list(self.configs),
            limit=self.batch,
            lease_s=self.lease_s,
            ids=ids,
        )
        if not rows:
            return []
        if not self._marker_key:
            self._marker_key = await asyncio.to_thread(thread_key, self.store)
        done = asyncio.Event()
        renewal = asyncio.create_task(self._renew_until(done, [r.id for r in rows]))
        try:
            outcomes = list(await asyncio.gather(*(self._one(session, row) for row in rows)))
        finally:
            done.set()
            await renewal
        # Deliveries of a batch are recorded in one transaction: one commit instead of one per
        # row (benchmarks/notify_outbox.py). A crash before this line means those rows are
        # delivered again after their lease, which providers detect (GitHub markers) or expose
        # (idempotency key header, Message-ID).
        sent = [(o.row_id, o.result) for o in outcomes if o.status == SENT]
        await asyncio.to_thread(outbox.mark_sent_many, self.store, sent)
        for o in outcomes:
            if o.status == SENT:
                log.info("sent %s to %s", o.key, o.notifier)
        return outcomes

    async def next_wake(self, ids: Collection[int] | None = None) -> float | None:
        return await asyncio.to_thread(
            outbox.next_wake, self.store, notifiers=list(self.configs), ids=ids
        )

    async def _one(self, session: aiohttp.ClientSession, row: OutboxRow) -> Outcome:
        config = self.configs[row.notifier]
        policy = policy_of(config)
        try:
            notifier = self.notifier(row.notifier)
            secrets = notifier.secrets()
        except Exception as exc:
            error = NotifyError(f"{row.notifier}: cannot build notifier: {exc}", permanent=True)
            return await self._failed(row, error, policy, [])
        if row.attempts > policy.max_attempts:
            # The previous holder of this row died during its last allowed attempt.
            error = NotifyError(f"the worker stopped during attempt {row.attempts - 1}")
            return await self._failed(row, error, policy, secrets)
        try:
            event = row.event
        except (ValueError, TypeError) as exc:
            error = NotifyError(f"{row.notifier}: bad event in outbox: {exc}", permanent=True)
            return await self._failed(row, error, policy, secrets)
        ctx = DeliveryContext(
            session,
            row.notifier,
            row.attempts,
            float(config.timeout),
            self._marker_key,
            journal=_RowJournal(self.store, row),
        )
        try:
            async with self.semaphore:
                result = await asyncio.wait_for(notifier.send(event, ctx), self.send_bound(config))
        except NotifyError as exc:
            return await self._failed(row, exc, policy, secrets)
        except TimeoutError:
            bound = self.send_bound(config)
            error = NotifyError(f"{row.notifier}: delivery took longer than {bound:.0f}s")
            return await self._failed(row, error, policy, secrets)
        except Exception as exc:  # a provider bug must not stop the worker
            log.exception("notifier %s failed unexpectedly", row.notifier)
            error = NotifyError(f"{row.notifier}: internal error: {type(exc).__name__}: {exc}")
            return await self._failed(row, error, policy, secrets)
        return Outcome(row.id, row.notifier, row.idempotency_key, SENT, row.attempts, result=result)

    async def _failed(
        self, row: OutboxRow, error: NotifyError, policy: RetryPolicy, secrets: list[str]
    ) -> Outcome:
        clean = NotifyError(
            redact(str(error), secrets), retry_after=error.retry_after, permanent=error.permanent
        )
        done = await asyncio.to_thread(
            outbox.mark_failed, self.store, row, clean, policy, rng=self.rng
        )
        status = DEAD if done.status == outbox.DEAD else RETRY
        log.warning(
            "notify %s: %s %s: %s (%s)",
            row.notifier,
            row.event_type,
            row.idempotency_key,
            for_terminal(done.error or ""),  # quotes a provider's answer
            "dead"
            if status == DEAD
            else f"retry in {(done.next_attempt_at or 0) - time.time():.1f}s",
        )
        return Outcome(
            row.id,
            row.notifier,
            row.idempotency_key,
            status,
            row.attempts,
            error=done.error,
            next_attempt_at=done.next_attempt_at,
        )


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))


async def deliver(
    store: Store,
    notifiers_config: Mapping[str, NotifierBase],
    *,
    deadline_s: float = 30.0,
    ids: Collection[int] | None = None,
    owner: str | None = None,
    lease_s: float = LEASE_S,
    batch: int = 20,
    concurrency: int = 8,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Deliver due rows, waiting for retries that fall due within ``deadline_s``.

    Rows still queued at the deadline stay in the outbox for the next run; ``ids`` limits the
    run to those rows (``prodshield notify test``).
    """
    d = _Deliverer(
        store,
        notifiers_config,
        owner=owner,
        lease_s=lease_s,
        batch=batch,
        concurrency=concurrency,
        rng=rng,
    )
    end = time.monotonic() + deadline_s
    report = DeliveryReport()
    async with _session() as session:
        while time.monotonic() < end:
            outcomes = await d.run_once(session, ids)
            if outcomes:
                report.outcomes += outcomes
                continue
            wake = await d.next_wake(ids)
            if wake is None:
                break
            wait = max(0.05, wake - time.time() + 0.01)
            if time.monotonic() + wait > end:
                break
            await asyncio.sleep(wait)
    report.pending = await asyncio.to_thread(
        outbox.pending_count, store, notifiers=list(d.configs), ids=ids
    )
    return report


def deliver_pending(
    store: Store,
    notifiers_config: Mapping[str, NotifierBase],
    *,
    deadline_s: float = 30.0,
    **kwargs: Any,
) -> DeliveryReport:
    """Synchronous :func:`deliver` for one-shot commands (not from inside an event loop)."""
    return asyncio.run(deliver(store, notifiers_config, deadline_s=deadline_s, **kwargs))


class OutboxWorker:
    """The delivery loop of the long-running service.

    ``start()`` runs it as a task; ``wake()`` after enqueuing skips the poll wait; ``stop()``
    lets in-flight sends finish (bounded) and returns. Rows a cancelled send held are claimed
    again when their lease expires.
    """

    def __init__(
        self,
        store: Store,
        notifiers_config: Mapping[str, NotifierBase],
        *,
        poll_interval: float = 5.0,
        lease_s: float = LEASE_S,
        batch: int = 20,
        concurrency: int = 8,
        owner: str | None = None,
    ) -> None:
        self.poll_interval = poll_interval
        self._d = _Deliverer(
            store,
            notifiers_config,
            owner=owner,
            lease_s=lease_s,
            batch=batch,
            concurrency=concurrency,
        )
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.report = DeliveryReport()

    @property
    def owner(self) -> str:
        return self._d.owner

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name="prodshield-outbox")
        return self._task

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        async with _session() as session:
            while not self._stopping.is_set():
                timeout = self.poll_interval
                try:
                    outcomes = await self._d.run_once(session)
                    if outcomes:
                        self.report.outcomes += outcomes
                        continue
                    wake = await self._d.next_wake()
                    if wake is not None:
                        timeout = min(timeout, max(0.05, wake - time.time() + 0.01))
                except StoreError as exc:
                    log.warning("outbox: %s (retrying in %.0fs)", exc, self.poll_interval)
                except Exception:  # the service's delivery loop must outlive any one failure
                    log.exception("outbox: delivery round failed (retrying in %.0fs)", timeout)
                await self._sleep(timeout)

    async def _sleep(self, timeout: float) -> None:
        stop = asyncio.ensure_future(self._stopping.wait())
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stop, wake}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            wake.cancel()
        self._wake.clear()

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the current batch (at most ``timeout`` seconds) and end the loop."""
        self._stopping.set()
        task = self._task
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
