"""``prodshield notify``: the outbox's state, retrying dead events, and test messages."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prodshield.cli.common import (
    EXIT_FAILED,
    ConfigOption,
    Grid,
    console,
    load,
    plural,
    print_json,
    store_for,
    untrusted,
)
from prodshield.config import LoadedConfig
from prodshield.config.types import format_elapsed, parse_duration
from prodshield.errors import UsageError
from prodshield.notify import Event, enqueue, outbox
from prodshield.notify.redact import notifier_secrets, redact
from prodshield.text import clip, for_terminal

if TYPE_CHECKING:
    from prodshield.notify.worker import DeliveryReport

# The commands that deliver import the worker and subscribers (aiohttp, every provider) when
# they run: `notify status` only reads the outbox.

app = typer.Typer(
    help="The notification outbox: status, retries and test messages.", no_args_is_help=True
)

FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="Output format: text or json.", show_default=True)
]
WaitOption = Annotated[
    str,
    typer.Option(
        "--wait",
        metavar="DURATION",
        help="How long to keep retrying before giving up (30s, 2m; a bare number is seconds).",
        show_default=True,
    ),
]


def _wait_s(wait: str) -> float:
    """``--wait`` as seconds: a duration like ``monitor once --notify-wait`` takes."""
    try:
        return parse_duration(wait)
    except ValueError as exc:
        raise UsageError(f"--wait: {exc}") from None


def _secrets(loaded: LoadedConfig) -> list[str]:
    return notifier_secrets(loaded.config.notifiers)


def _ago(ts: float | None) -> str:
    if ts is None:
        return "-"
    return f"{format_elapsed(max(0.0, time.time() - ts))} ago"


def _due(ts: float | None) -> str:
    if ts is None:
        return "-"
    seconds = ts - time.time()
    if seconds < 0.5:
        return "now"
    return f"in {format_elapsed(seconds)}"


@app.command("status")
def status_cmd(config: ConfigOption = None, fmt: FormatOption = "text") -> None:
    """Counts by notifier and status, the events being retried and the dead ones, with their
    last error."""
    if fmt not in ("text", "json"):
        raise UsageError(f"--format {fmt!r}: use text or json")
    loaded = load(config)
    store = store_for(loaded)
    try:
        st = outbox.status(store)
    finally:
        store.close()
    secrets = _secrets(loaded)

    def listed(r: Any, when: str, at: float | None) -> dict[str, Any]:
        return {
            "id": r.id,
            "notifier": r.notifier,
            "type": r.event_type,
            "subject": r.subject,
            "key": r.idempotency_key,
            "attempts": r.attempts,
            when: at,
            "last_error": redact(r.last_error or "", secrets),
        }

    dead = [listed(r, "created_at", r.created_at) for r in st.dead]
    retrying = [listed(r, "next_attempt_at", r.next_attempt_at) for r in st.retrying]
    if fmt == "json":
        print_json(
            {
                "counts": st.counts,
                "totals": {s: st.total(s) for s in outbox.STATUSES},
                "oldest_pending_at": st.oldest_pending_at,
                "retrying": retrying,
                "dead": dead,
            }
        )
        return
    out = console()
    table = Grid(
        "notifier", "pending", "sent", "dead", keys=("notifier",),
        right=("pending", "sent", "dead"), title="outbox", out=out,
    )  # fmt: skip
    names = sorted(set(st.counts) | set(loaded.config.notifiers))
    for name in names:
        c = st.counts.get(name, {})
        label = name if name in loaded.config.notifiers else f"{name} (not configured)"
        table.add_row(label, *(str(c.get(s, 0)) for s in outbox.STATUSES))
    table.print()
    out.print(
        f"{st.total('pending')} pending (oldest queued {_ago(st.oldest_pending_at)}), "
        f"{st.total('sent')} sent, {st.total('dead')} dead"
    )
    if retrying:
        rt = Grid(
            "id", "notifier", "type", "attempts", "due", "last error",
            keys=("id", "notifier", "type"), right=("id", "attempts"), title="retrying", out=out,
        )  # fmt: skip
        for row, d in zip(st.retrying, retrying, strict=True):
            rt.add_row(
                str(d["id"]),
                str(d["notifier"]),
                str(d["type"]),
                str(d["attempts"]),
                _due(row.next_attempt_at),
                untrusted(d["last_error"]),  # quotes the provider's answer
            )
        rt.print()
    if dead:
        dt = Grid(
            "id", "notifier", "type", "subject", "attempts", "last error",
            keys=("id", "notifier", "type"), right=("id", "attempts"), title="dead", out=out,
        )  # fmt: skip
        for d in dead:
            dt.add_row(
                str(d["id"]),
                str(d["notifier"]),
                str(d["type"]),
                untrusted(d["subject"]),
                str(d["attempts"]),
                untrusted(d["last_error"]),  # quotes the provider's answer
            )
        dt.print()
        out.print("requeue one with `prodshield notify retry ID`")


def _summary(result: object) -> str:
    """A provider's answer on one line: ``channel=C1 ts=1.2`` (it comes from production: no
    control characters, each value clipped)."""
    if not isinstance(result, dict):
        return "" if result is None else " ".join(for_terminal(result).split())[:200]
    parts = []
    for key, value in result.items():
        if value is None or value == "":
            continue
        shown = "+".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{key}={clip(' '.join(for_terminal(shown).split()), 120)}")
    return " ".join(parts)


@contextmanager
def _quiet_delivery_log() -> Iterator[None]:
    """The delivery worker's per-attempt warnings (``... (retry in 1.5s)``) left out for the
    block: ``notify test`` says each attempt itself and keeps nothing for a later retry."""
    logger = logging.getLogger("prodshield.notify")

    def drop(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR

    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def _report_one(report: DeliveryReport, name: str, *, tried_within: str | None = None) -> bool:
    """The delivery's outcome in one line; with ``tried_within`` (``notify test``), first each
    failed attempt before the last, without a retry schedule."""
    out = console()
    if tried_within is not None:
        for earlier in report.outcomes[:-1]:
            out.print(
                for_terminal(f"attempt {earlier.attempt} failed: {earlier.error}"), markup=False
            )
    last = report.outcomes[-1] if report.outcomes else None
    if last is not None and last.status == "sent":
        summary = _summary(last.result)
        line = f"sent to {name} (attempt {last.attempt})" + (f": {summary}" if summary else "")
        out.print(for_terminal(line), markup=False)
        return True
    if last is None:
        out.print(f"not sent to {name}: no delivery attempt was due before the deadline")
    elif tried_within is not None:
        attempts = plural(len(report.outcomes), "attempt")
        out.print(
            for_terminal(f"not sent to {name}: {last.error} ({attempts} within {tried_within})"),
            markup=False,
        )
    else:
        out.print(for_terminal(f"not sent to {name}: {last.error}"), markup=False)
    return False


@app.command("test")
def test_cmd(
    name: Annotated[str, typer.Argument(help="The notifier's name under `notifiers:`.")],
    config: ConfigOption = None,
    wait: WaitOption = "30s",
) -> None:
    """Send a test event through one notifier now; exit 0 when delivered, 1 when not."""
    loaded = load(config)
    notifiers = loaded.config.notifiers
    if name not in notifiers:
        known = ", ".join(sorted(notifiers)) or "none"
        raise UsageError(f"no notifier {name!r} in {loaded.path} (configured: {known})")
    cfg = notifiers[name].model_copy(update={"enabled": True})
    key = f"test:{uuid.uuid4().hex}"
    event = Event(
        key=key,
        type="test",
        subject=key,
        title="prodshield test notification",
        body=(
            f"This is a test sent by `prodshield notify test {name}` from "
            f"{socket.gethostname()}. Delivery through this notifier works."
        ),
        fields={"notifier": name, "type": str(getattr(cfg, "type", "?"))},
    )
    from prodshield.notify.worker import deliver_pending

    store = store_for(loaded)
    try:
        enqueue(store, [name], event)
        row = outbox.find(store, name, key)
        assert row is not None
        with _quiet_delivery_log():  # its "retry in Ns" lines are a schedule a test drops
            report = deliver_pending(store, {name: cfg}, deadline_s=_wait_s(wait), ids=[row.id])
        ok = _report_one(report, name, tried_within=wait)
        if not ok:
            # A test message that arrives hours later only confuses, and its failure is told
            # here: it leaves no row to retry, to count as dead or to alert on.
            outbox.discard(store, row.id)
            console().print("the test message is not kept for retries", markup=False)
    finally:
        store.close()
    if not ok:
        raise typer.Exit(EXIT_FAILED)


@app.command("retry")
def retry_cmd(
    row_id: Annotated[int, typer.Argument(metavar="ID", help="The dead row's id (notify status).")],
    config: ConfigOption = None,
    wait: WaitOption = "30s",
) -> None:
    """Requeue a dead event with a fresh retry budget and try to deliver it now."""
    from prodshield.notify.subscribers import delivery_notifiers
    from prodshield.notify.worker import deliver_pending

    loaded = load(config)
    store = store_for(loaded)
    try:
        row = outbox.retry_dead(store, row_id)
        console().print(f"requeued {row.event_type} {row.idempotency_key} for {row.notifier}")
        cfg = delivery_notifiers(loaded.config).get(row.notifier)
        if cfg is None or not cfg.enabled:
            console().print(f"{row.notifier} is not an enabled notifier; it stays queued")
            raise typer.Exit(EXIT_FAILED)
        report = deliver_pending(store, {row.notifier: cfg}, deadline_s=_wait_s(wait), ids=[row.id])
    finally:
        store.close()
    if not _report_one(report, row.notifier):
        raise typer.Exit(EXIT_FAILED)


@app.command("discard")
def discard_cmd(
    row_id: Annotated[int, typer.Argument(metavar="ID", help="The dead row's id (notify status).")],
    config: ConfigOption = None,
) -> None:
    """Drop a dead event nobody will deliver (its notifier removed, its news stale), so
    `notify flush` stops failing on it; a row already sent is never dropped."""
    loaded = load(config)
    store = store_for(loaded)
    try:
        row = outbox.get(store, row_id)
        if row is None or row.status != outbox.DEAD:
            state = "no such row" if row is None else f"it is {row.status}, not dead"
            console().print(f"notify discard {row_id}: {state}", markup=False)
            raise typer.Exit(EXIT_FAILED)
        outbox.discard(store, row_id)
        console().print(
            f"discarded {row.event_type} {row.idempotency_key} for {row.notifier}", markup=False
        )
    finally:
        store.close()


@app.command("flush")
def flush_cmd(config: ConfigOption = None, wait: WaitOption = "30s") -> None:
    """Deliver every queued event now (for one-shot runs such as CI jobs); exit 1 while a
    notification is still queued or dead (never delivered), so a job does not pass over it."""
    from prodshield.notify.subscribers import delivery_notifiers
    from prodshield.notify.worker import deliver_pending

    loaded = load(config)
    store = store_for(loaded)
    try:
        report = deliver_pending(store, delivery_notifiers(loaded.config), deadline_s=_wait_s(wait))
        told = undelivered(store, report)
    finally:
        store.close()
    console().print(told.line, markup=False)
    if told.dead or report.pending:
        raise typer.Exit(EXIT_FAILED)


@dataclass(frozen=True)
class Undelivered:
    """What a one-shot delivery ends by telling (`notify flush`, `monitor once`)."""

    line: str
    """``0 sent, 1 dead, 0 still queued; dead id 1 was never delivered: requeue it with ...``"""
    dead: int
    """Every dead row the outbox holds, not only those that died in this run."""
    dead_ids: list[int]
    """The dead rows named in ``line`` (the newest :data:`_DEAD_IDS_SHOWN`), ascending."""


def undelivered(store: Any, report: DeliveryReport) -> Undelivered:
    """The counts of a delivery run with every dead row the outbox holds (one that died in an
    earlier run was never delivered either), the ids to requeue or drop, and where to look."""
    held = outbox.status(store, dead_limit=_DEAD_IDS_SHOWN + 1)
    dead = max(held.total(outbox.DEAD), report.dead)
    line = report.summary(dead=dead)
    ids = sorted(r.id for r in held.dead[:_DEAD_IDS_SHOWN]) if dead else []
    if dead:
        named = ", ".join(str(i) for i in ids)
        more = ", ..." if dead > _DEAD_IDS_SHOWN else ""
        line += (
            f"; dead id {named} was never delivered: requeue it with `prodshield notify retry {named}`"
            f" (or drop it with `prodshield notify discard {named}`)"
            if dead == 1
            else f"; dead ids {named}{more} were never delivered: requeue one with"
            " `prodshield notify retry ID`"
        )
    if report.pending or report.retried or dead:
        line += " (`prodshield notify status` shows why)"
    return Undelivered(line, dead, ids)


_DEAD_IDS_SHOWN = 10
"""The dead rows `notify flush` names by id (`notify status` lists them all)."""
