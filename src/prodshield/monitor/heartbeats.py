"""Heartbeats: jobs ping prodshield; a missing ping past ``period + grace`` is a failure.

``prodshield serve`` exposes the ping URL; this module keeps the rows behind it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select

from prodshield.store import Store
from prodshield.store import tables as t


@dataclass(frozen=True)
class Heartbeat:
    key: str
    token: str
    last_ping: float | None
    pings: int
    created_at: float | None


def heartbeat_key(check_name: str, environment: str = "") -> str:
    return f"{check_name}@{environment}" if environment else check_name


def ensure_heartbeat(store: Store, check_name: str, environment: str = "") -> Heartbeat:
    """The heartbeat row of a check, created (with a fresh URL token) on first use."""
    key = heartbeat_key(check_name, environment)
    h = t.heartbeats
    with store.begin() as conn:
        row = conn.execute(select(h).where(h.c.check_name == key)).first()
        if row is None:
            now = time.time()
            token = secrets.token_urlsafe(18)
            conn.execute(
                h.insert().values(
                    check_name=key, token=token, last_ping=None, pings=0, created_at=now
                )
            )
            return Heartbeat(key, token, None, 0, now)
    return Heartbeat(key, row.token, row.last_ping, row.pings, row.created_at)


def record_ping(
    store: Store, check_name: str, environment: str = "", *, now: float | None = None
) -> Heartbeat:
    """Record that the job behind a heartbeat check just pinged."""
    now = time.time() if now is None else now
    current = ensure_heartbeat(store, check_name, environment)
    h = t.heartbeats
    with store.begin() as conn:
        conn.execute(
            h.update()
            .where(h.c.check_name == current.key)
            .values(last_ping=now, pings=h.c.pings + 1)
        )
    return Heartbeat(current.key, current.token, now, current.pings + 1, current.created_at)


def find_by_token(store: Store, token: str) -> Heartbeat | None:
    """The heartbeat a ping URL token belongs to (for ``prodshield serve``)."""
    h = t.heartbeats
    with store.connect() as conn:
        row = conn.execute(select(h).where(h.c.token == token)).first()
    if row is None:
        return None
    return Heartbeat(row.check_name, row.token, row.last_ping, row.pings, row.created_at)
