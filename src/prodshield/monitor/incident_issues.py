"""The open GitHub issues of incident threads, as a store that was lost finds them again.

Two things ask each ``github`` notifier for the open issues it wrote when the store may have
forgotten them: ``removed.close_removed_issues`` (the issues of checks shield.yaml no longer runs
are closed) and ``adopt.find_orphans`` (those of checks it still runs become open incidents
again). Both walk the same way (:func:`walk`): one HTTP session, each enabled ``github``
notifier in turn with its delivery context, the subjects still queued for it in the outbox, and
its open issues (every page, signed subject marker, its own account: ``GitHubNotifier
.open_threads``), or one line saying why it could not be asked. Both read an issue the same way
(:func:`incident_thread`): an ``incident:`` or ``slo:`` thread whose kind the issue's fields table
names, once, and nothing queued for it (the store knows the thread, and what is queued says it).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Callable, Collection
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import select

from prodshield.config.notifiers import GitHubNotifierConfig
from prodshield.config.schema import ShieldConfig
from prodshield.monitor import slo
from prodshield.monitor.incident_machine import KINDS
from prodshield.monitor.result import ERROR_KINDS
from prodshield.notify.markers import thread_key
from prodshield.notify.providers import DeliveryContext
from prodshield.notify.providers.github import GitHubNotifier
from prodshield.store import Store
from prodshield.store import tables as t

_KIND_ROW = re.compile(r"^\| kind \| `([^`|]{1,64})` \|$", re.MULTILINE)
_ERROR_ROW = re.compile(r"^\| error \| `([a-z]{1,16}): ", re.MULTILINE)
_THREAD_KINDS = frozenset(KINDS) | {slo.KIND}


def _one_known(row: re.Pattern[str], body: str, known: Collection[str]) -> str | None:
    """The value the fields table's ``row`` names, when it names exactly one and it is known."""
    values = set(row.findall(body))
    return values.pop() if len(values) == 1 and values <= set(known) else None


def issue_kind(body: str) -> str | None:
    """The incident kind an issue's fields table names (``| kind | `down` |``), or None when
    no row, several different rows, or a kind that is not a check's or an SLO's."""
    return _one_known(_KIND_ROW, body, _THREAD_KINDS)


def error_kind_of(body: str) -> str | None:
    """The error kind an issue's fields table names (``| error | `timeout: ...` |``), when one
    known kind is named: a first failure of the same kind then adds nothing to the issue."""
    return _one_known(_ERROR_ROW, body, ERROR_KINDS)


def thread_parts(subject: str) -> tuple[str, str] | None:
    """(check, environment) of an incident thread ``incident:CHECK:ENV`` or ``slo:CHECK:ENV``."""
    prefix, _, rest = subject.partition(":")
    if prefix not in ("incident", "slo") or ":" not in rest:
        return None
    check, environment = rest.rsplit(":", 1)
    return (check, environment) if check else None


@dataclass(frozen=True, slots=True)
class IncidentThread:
    """An open issue read as the incident thread it is about."""

    number: int
    subject: str
    check: str
    environment: str
    kind: str
    body: str


def incident_thread(issue: dict[str, Any], queued: Collection[str]) -> IncidentThread | None:
    """The incident thread of an open issue (``open_threads``' shape), or None when its subject
    is no incident or SLO thread, its fields table names no single check or SLO kind (a manual
    incident's, an unknown or ambiguous one), its kind and subject disagree, or something is
    still queued for its subject."""
    subject, body = str(issue["subject"]), str(issue["body"])
    thread = thread_parts(subject)
    kind = issue_kind(body)
    if thread is None or kind is None or subject in queued:
        return None
    if (kind == slo.KIND) != subject.startswith("slo:"):
        return None
    check, environment = thread
    return IncidentThread(int(issue["number"]), subject, check, environment, kind, body)


def queued_threads(store: Store, notifier: str) -> set[str]:
    """Subjects with a notification still to deliver through ``notifier``."""
    o = t.outbox
    with store.connect() as conn:
        rows = conn.execute(
            select(o.c.subject).where(o.c.notifier == notifier, o.c.status == "pending")
        ).all()
    return {str(r.subject) for r in rows if r.subject}


def github_notifiers(config: ShieldConfig) -> dict[str, GitHubNotifierConfig]:
    """The enabled ``github`` notifiers of ``config`` (a disabled one is sent nothing, so it
    neither closes nor adopts anything either)."""
    return {
        name: c
        for name, c in config.notifiers.items()
        if isinstance(c, GitHubNotifierConfig) and c.enabled
    }


def failure(notifier: str, exc: BaseException) -> str:
    """The one line saying why ``notifier`` could not be asked (the caller says it)."""
    return f"{notifier}: {exc}"


@dataclass(frozen=True, slots=True)
class Listing:
    """One ``github`` notifier's open issues, with what is still queued for it."""

    name: str
    notifier: GitHubNotifier
    ctx: DeliveryContext
    queued: set[str]
    issues: list[dict[str, Any]]


async def walk(
    store: Store,
    config: ShieldConfig,
    *,
    wanted: Callable[[str], bool] | None = None,
    timeout: float = 10.0,
) -> AsyncGenerator[Listing | str, None]:
    """Each enabled ``github`` notifier of ``config`` (those ``wanted`` says yes to) as a
    :class:`Listing`, or as one line (:func:`failure`) when it could not be asked. The session
    stays open while the caller acts on a listing (closing an issue through its context); use it
    under ``contextlib.aclosing`` so that leaving early closes the session. Nothing is asked,
    and no marker key made, when no notifier is wanted."""
    github = {n: c for n, c in github_notifiers(config).items() if wanted is None or wanted(n)}
    if not github:
        return
    key = await asyncio.to_thread(thread_key, store)
    async with aiohttp.ClientSession() as session:
        for name, notifier_config in github.items():
            notifier = GitHubNotifier(notifier_config)
            ctx = DeliveryContext(session, name, 1, timeout, key)
            try:
                queued = await asyncio.to_thread(queued_threads, store, name)
                issues = await notifier.open_threads(ctx)
            except Exception as exc:  # asked again by the next run
                yield failure(name, exc)
                continue
            yield Listing(name, notifier, ctx, queued, issues)
