"""Status updates written as comments on an incident's GitHub issue.

A comment that starts with ``/status `` on the open issue of an incident becomes a written update
(:func:`prodshield.monitor.incidents.post_update`, origin ``github``, keyed by the comment's id, so
reading it again changes nothing): the public status page and its feed show it. ``serve`` polls
every open incident's issue (:class:`StatusCommentService`); ``monitor once`` polls once per run.
Which issue: the one the incident's ``incident.opened`` notification opened (the outbox keeps its
number).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
from sqlalchemy import select

from prodshield.config.schema import ShieldConfig
from prodshield.errors import Invalid, NotFound
from prodshield.monitor.incidents import post_update
from prodshield.notify.markers import thread_key
from prodshield.notify.providers import DeliveryContext
from prodshield.notify.providers.github import GitHubNotifier
from prodshield.store import Store
from prodshield.store import tables as t

log = logging.getLogger(__name__)

PREFIX = "/status "


def _issues(store: Store, config: ShieldConfig) -> list[tuple[int, str, int]]:
    """(incident id, notifier name, issue number) of every open incident with a GitHub issue."""
    github = {n for n, c in config.notifiers.items() if getattr(c, "type", None) == "github"}
    if not github:
        return []
    i, o = t.incidents, t.outbox
    out: list[tuple[int, str, int]] = []
    with store.connect() as conn:
        open_ids = [int(r[0]) for r in conn.execute(select(i.c.id).where(i.c.status == "open"))]
        for incident_id in open_ids:
            rows = conn.execute(
                select(o.c.notifier, o.c.result).where(
                    o.c.idempotency_key == f"incident:{incident_id}:opened",
                    o.c.status == "sent",
                )
            ).all()
            for notifier, result in rows:
                number = result.get("issue") if isinstance(result, dict) else None
                if notifier in github and isinstance(number, int):
                    out.append((incident_id, notifier, number))
    return out


async def poll(store: Store, config: ShieldConfig, *, timeout: float = 10.0) -> int:
    """Read the ``/status`` comments of every open incident's issue once; return how many new
    updates were stored. A notifier that fails is logged and skipped."""
    issues = await asyncio.to_thread(_issues, store, config)
    if not issues:
        return 0
    key = await asyncio.to_thread(thread_key, store)
    added = 0
    async with aiohttp.ClientSession() as session:
        for incident_id, name, number in issues:
            notifier = GitHubNotifier(config.notifiers[name])  # type: ignore[arg-type]
            ctx = DeliveryContext(session, name, 1, timeout, key)
            try:
                found = await notifier.status_comments(ctx, number, PREFIX)
            except Exception as exc:
                log.warning("status comments of %s issue #%s not read: %s", name, number, exc)
                continue
            for c in found:
                try:
                    stored = await asyncio.to_thread(
                        post_update,
                        store,
                        config,
                        incident_id,
                        c["text"],
                        c["login"],
                        origin="github",
                        external_id=c["id"],
                    )
                except (NotFound, Invalid):  # pruned meanwhile; a comment with only the marker
                    continue
                added += int(stored)
    return added


class StatusCommentService:
    """Background service for ``serve``: :func:`poll` every ``interval`` seconds."""

    name = "status-comments"

    def __init__(self, store: Store, loaded: Any, interval: float = 30.0) -> None:
        self.store = store
        self.loaded = loaded
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await poll(self.store, self.loaded.config)
            except Exception as exc:  # a store or network hiccup must not end the service
                log.warning("status comments: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
