"""The outbox on both store backends: idempotent enqueue, leases, order, backoff, workers."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from typing import Any

import pytest
from aiohttp import web

from prodshield.config.notifiers import WebhookNotifierConfig
from prodshield.errors import Conflict, NotFound, NotifyError
from prodshield.notify import Event, OutboxWorker, RetryPolicy, deliver_pending, enqueue, outbox
from prodshield.store import Store, open_store


def ev(key: str, subject: str | None = None, kind: str = "log.critical") -> Event:
    return Event(key=key, type=kind, subject=subject or f"s:{key}", title=f"title {key}")


def test_event_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        Event(key="k", type="incident.exploded", subject="s", title="t")
    with pytest.raises(ValueError, match="severity"):
        Event(key="k", type="test", subject="s", title="t", severity="urgent")
    with pytest.raises(ValueError, match="key"):
        Event(key="", type="test", subject="s", title="t")
    e = Event(key="k", type="digest", subject="s", title="t", fields={"n": 3})  # type: ignore[dict-item]
    assert e.fields == {"n": "3"}
    assert Event.from_dict({**e.to_dict(), "unknown": 1}) == e


def test_enqueue_twice_is_one_row_per_notifier(store: Store) -> None:
    e = ev("inc-1:opened")
    assert enqueue(store, ["gh", "slack"], e) == 2
    assert enqueue(store, ["gh", "slack"], e) == 0
    assert enqueue(store, ["gh", "gh", "mail"], e) == 1
    st = outbox.status(store)
    assert st.counts == {
        "gh": {"pending": 1, "sent": 0, "dead": 0},
        "slack": {"pending": 1, "sent": 0, "dead": 0},
        "mail": {"pending": 1, "sent": 0, "dead": 0},
    }
    row = outbox.find(store, "gh", "inc-1:opened")
    assert row is not None and row.event == e and row.subject == e.subject


def test_claim_leases_rows_exclusively_until_the_lease_expires(store: Store) -> None:
    for n in range(5):
        enqueue(store, ["gh"], ev(f"k{n}"), now=100.0)
    a = outbox.claim(store, "a", notifiers=["gh"], limit=3, lease_s=60, now=200.0)
    b = outbox.claim(store, "b", notifiers=["gh"], limit=3, lease_s=60, now=200.0)
    assert [r.idempotency_key for r in a] == ["k0", "k1", "k2"]
    assert [r.idempotency_key for r in b] == ["k3", "k4"]
    assert all(r.lease_owner == "a" and r.lease_until == 260.0 and r.attempts == 1 for r in a)
    assert outbox.claim(store, "c", notifiers=["gh"], now=259.0) == []
    # Worker "a" died: after its lease the rows go to another worker, the attempt counted.
    c = outbox.claim(store, "c", notifiers=["gh"], now=261.0)
    assert [r.idempotency_key for r in c] == ["k0", "k1", "k2", "k3", "k4"]
    assert [r.attempts for r in c] == [2, 2, 2, 2, 2]
    # Other notifiers' rows are not touched.
    assert outbox.claim(store, "d", notifiers=["slack"], now=1000.0) == []


def test_a_renewed_lease_keeps_the_row_and_only_its_owner_can_renew(store: Store) -> None:
    enqueue(store, ["gh"], ev("k"), now=100.0)
    (row,) = outbox.claim(store, "a", notifiers=["gh"], lease_s=15, now=100.0)
    assert outbox.renew(store, "b", [row.id], lease_s=15, now=110.0) == 0  # not b's lease
    assert outbox.renew(store, "a", [row.id], lease_s=15, now=110.0) == 1
    assert outbox.claim(store, "b", notifiers=["gh"], now=120.0) == []  # renewed until 125
    (again,) = outbox.claim(store, "b", notifiers=["gh"], now=126.0)  # a stopped renewing
    assert again.lease_owner == "b" and again.attempts == 2
    assert outbox.renew(store, "a", [row.id], lease_s=15, now=127.0) == 0  # a lost it


def test_a_thread_is_delivered_in_order(store: Store) -> None:
    enqueue(store, ["gh"], ev("opened", "incident:x", "incident.opened"), now=1.0)
    enqueue(store, ["gh"], ev("resolved", "incident:x", "incident.resolved"), now=2.0)
    enqueue(store, ["gh"], ev("other", "incident:y"), now=3.0)
    first = outbox.claim(store, "w", notifiers=["gh"], now=10.0)
    assert [r.idempotency_key for r in first] == ["opened", "other"]
    opened = first[0]
    # "opened" fails and is rescheduled: "resolved" must wait behind it.
    policy = RetryPolicy(max_attempts=5, backoff=1, max_backoff=1)
    outbox.mark_failed(store, opened, NotifyError("502"), policy, now=10.0, rng=random.Random(1))
    assert outbox.claim(store, "w", notifiers=["gh"], now=10.0) == []
    assert outbox.next_wake(store, notifiers=["gh"], now=10.0) == pytest.approx(
        outbox.find(store, "gh", "opened").next_attempt_at  # type: ignore[union-attr]
    )
    again = outbox.claim(store, "w", notifiers=["gh"], now=12.0)
    assert [r.idempotency_key for r in again] == ["opened"]
    outbox.mark_sent(store, again[0].id, {"issue": 1}, now=12.0)
    assert [r.idempotency_key for r in outbox.claim(store, "w", notifiers=["gh"], now=12.0)] == [
        "resolved"
    ]


def test_failures_retry_then_die_and_retry_dead_revives(store: Store) -> None:
    enqueue(store, ["gh"], ev("k"), now=0.0)
    policy = RetryPolicy(max_attempts=2, backoff=10, max_backoff=100)
    [row] = outbox.claim(store, "w", notifiers=["gh"], now=0.0)
    done = outbox.mark_failed(store, row, NotifyError("timeout", retry_after=30), policy, now=0.0)
    assert done.status == "pending" and done.next_attempt_at is not None
    assert 30.0 <= done.next_attempt_at <= 30.0 + 10.0
    [row] = outbox.claim(store, "w", notifiers=["gh"], now=100.0)
    done = outbox.mark_failed(store, row, NotifyError("timeout"), policy, now=100.0)
    assert done.status == "dead"
    dead = outbox.find(store, "gh", "k")
    assert dead is not None and dead.status == "dead"
    assert dead.last_error == "gave up after 2 attempts: timeout"
    assert outbox.status(store).dead[0].id == dead.id

    enqueue(store, ["gh"], ev("fresh"), now=0.0)
    with pytest.raises(Conflict, match="not dead"):
        outbox.retry_dead(store, outbox.find(store, "gh", "fresh").id)  # type: ignore[union-attr]
    with pytest.raises(NotFound, match="no outbox row"):
        outbox.retry_dead(store, 999_999)
    revived = outbox.retry_dead(store, dead.id, now=200.0)
    assert revived.status == "pending" and revived.attempts == 0
    claimed = outbox.claim(store, "w", notifiers=["gh"], now=200.0)
    assert sorted(r.idempotency_key for r in claimed) == ["fresh", "k"]


def test_permanent_error_is_dead_at_once(store: Store) -> None:
    enqueue(store, ["gh"], ev("k"))
    [row] = outbox.claim(store, "w", notifiers=["gh"])
    done = outbox.mark_failed(store, row, NotifyError("401", permanent=True), RetryPolicy())
    assert done.status == "dead"
    assert outbox.find(store, "gh", "k").last_error == "401"  # type: ignore[union-attr]


def test_backoff_is_exponential_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_attempts=10, backoff=2, max_backoff=60)
    rng = random.Random(7)
    for attempt, ceiling in ((1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (9, 60)):
        samples = [policy.delay(attempt, rng=rng) for _ in range(300)]
        # Never sooner than half the delay (a CI run once saw `backoff: 1h` retry in 1.5 s),
        # and spread over the upper half, not all at the ceiling.
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert min(samples) < ceiling * 0.55 and max(samples) > ceiling * 0.95
    assert all(policy.delay(1, retry_after=120, rng=rng) >= 120 for _ in range(50))


async def _receiver(delay_barrier: int) -> tuple[web.AppRunner, str, dict[str, Any]]:
    """A webhook receiver that counts deliveries per idempotency key and holds each request
    until ``delay_barrier`` are in flight at once (or 5 s pass)."""
    seen: dict[str, Any] = {"keys": Counter(), "in_flight": 0, "max_in_flight": 0}
    cond = asyncio.Condition()

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        async with cond:
            seen["in_flight"] += 1
            seen["max_in_flight"] = max(seen["max_in_flight"], seen["in_flight"])
            cond.notify_all()
            try:
                await asyncio.wait_for(
                    cond.wait_for(lambda: seen["max_in_flight"] >= delay_barrier), 5
                )
            except TimeoutError:
                pass
            seen["in_flight"] -= 1
        seen["keys"][request.headers["X-Prodshield-Idempotency-Key"]] += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook", seen


async def test_two_concurrent_workers_send_each_event_once(store: Store, store_url: str) -> None:
    runner, url, seen = await _receiver(delay_barrier=2)
    try:
        cfg = {"hook": WebhookNotifierConfig(type="webhook", url=url, timeout=10)}
        keys = [f"evt-{n}" for n in range(12)]
        for k in keys:
            enqueue(store, ["hook"], ev(k))

        def worker(owner: str) -> Any:
            own = open_store(store_url)  # a worker of its own, as another process would be
            try:
                return deliver_pending(own, cfg, deadline_s=20, batch=1, owner=owner)
            finally:
                own.close()

        a, b = await asyncio.gather(
            asyncio.to_thread(worker, "worker-a"), asyncio.to_thread(worker, "worker-b")
        )
    finally:
        await runner.cleanup()
    assert seen["keys"] == Counter({k: 1 for k in keys})
    assert a.sent + b.sent == 12 and a.retried == b.retried == 0
    assert seen["max_in_flight"] == 2  # the two workers really overlapped
    assert outbox.status(store).total("sent") == 12


async def test_outbox_worker_delivers_new_events_and_stops_cleanly(store: Store) -> None:
    runner, url, seen = await _receiver(delay_barrier=1)
    try:
        cfg = {"hook": WebhookNotifierConfig(type="webhook", url=url, timeout=5)}
        worker = OutboxWorker(store, cfg, poll_interval=30)
        task = worker.start()
        await asyncio.sleep(0.1)
        enqueue(store, ["hook"], ev("late-1"))
        worker.wake()  # without this the worker would sleep its 30 s poll interval
        end = time.monotonic() + 30  # a bound for a loaded machine, not a timing
        while not seen["keys"] and time.monotonic() < end:
            await asyncio.sleep(0.02)
        assert seen["keys"] == Counter({"late-1": 1})
        started = time.monotonic()
        await worker.stop(timeout=5)
        assert task.done() and task.exception() is None
        assert time.monotonic() - started < 5
        assert worker.report.sent == 1
    finally:
        await runner.cleanup()


def test_workers_in_threads_never_double_claim(store_url: str) -> None:
    """Many claimers hammering one outbox: every row is leased to exactly one of them."""
    setup = open_store(store_url)
    try:
        for n in range(60):
            enqueue(setup, ["gh"], ev(f"k{n}"))
    finally:
        setup.close()
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def claimer(owner: str) -> None:
        s = open_store(store_url)
        try:
            while True:
                rows = outbox.claim(s, owner, notifiers=["gh"], limit=3, lease_s=600)
                if not rows:
                    return
                with lock:
                    claimed.extend((owner, r.idempotency_key) for r in rows)
        finally:
            s.close()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    keys = [k for _, k in claimed]
    assert sorted(keys) == sorted(f"k{n}" for n in range(60))


def test_thread_index_is_added_to_an_outbox_of_schema_version_1(store: Store) -> None:
    from sqlalchemy import inspect, update

    from prodshield.store import tables as t

    def indexes() -> set[str | None]:
        with store.connect() as conn:
            return {ix["name"] for ix in inspect(conn).get_indexes("outbox")}

    assert "ix_outbox_thread" in indexes()
    with store.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_outbox_thread")
        conn.execute(
            update(t.schema_versions)
            .where(t.schema_versions.c.component == "notify")
            .values(version=1)
        )
    assert "ix_outbox_thread" not in indexes()
    assert store.upgrade() == ["notify 2: add index ix_outbox_thread on outbox"]
    assert "ix_outbox_thread" in indexes()
