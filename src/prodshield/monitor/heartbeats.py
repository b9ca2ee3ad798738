"""Heartbeats: jobs ping prodshield; a missing ping past ``period + grace`` is a failure.

``prodshield serve`` exposes the ping URL (``<base>/heartbeat/<token>``, GET or POST); this
module keeps the rows behind it and says where each check's URL is (``ping_urls``). A heartbeat
never pinged is *waiting for the first ping* (state ``waiting``), neither up nor down, until its
first ``period + grace`` has passed.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select

from prodshield.config.schema import ShieldConfig
from prodshield.store import Store
from prodshield.store import tables as t

WAITING = "waiting"
"""The state of a heartbeat check that has never been pinged (and is not late yet)."""
WAITING_LABEL = "waiting for the first ping"


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


def ping_by_token(store: Store, token: str, *, now: float | None = None) -> str | None:
    """Record a ping for the heartbeat whose URL token is ``token`` (``serve``'s ping endpoint);
    return its key, or None when no heartbeat has that token. One transaction."""
    h = t.heartbeats
    now = time.time() if now is None else now
    with store.begin() as conn:
        row = conn.execute(select(h.c.check_name).where(h.c.token == token)).first()
        if row is None:
            return None
        conn.execute(
            h.update().where(h.c.token == token).values(last_ping=now, pings=h.c.pings + 1)
        )
    return str(row.check_name)


def find_by_token(store: Store, token: str) -> Heartbeat | None:
    """The heartbeat a ping URL token belongs to (for ``prodshield serve``)."""
    h = t.heartbeats
    with store.connect() as conn:
        row = conn.execute(select(h).where(h.c.token == token)).first()
    if row is None:
        return None
    return Heartbeat(row.check_name, row.token, row.last_ping, row.pings, row.created_at)


@dataclass(frozen=True)
class PingBase:
    """Where jobs reach ``prodshield serve``: ``serve.public_url``, else its host and port."""

    url: str
    configured: bool
    """True when ``serve.public_url`` says it; False when guessed from ``serve.host``/``port``."""

    @classmethod
    def of(cls, config: ShieldConfig) -> PingBase:
        serve = config.serve
        if serve.public_url:
            return cls(serve.public_url.rstrip("/"), True)
        host = serve.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"  # listening everywhere: loopback is one address that works here
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return cls(f"http://{host}:{serve.port}", False)


@dataclass(frozen=True)
class PingUrl:
    """One heartbeat check (per environment) and the URL its job pings."""

    check: str
    environment: str
    key: str
    url: str
    period: float
    grace: float
    pings: int
    last_ping: float | None
    created_at: float | None

    @property
    def waiting(self) -> bool:
        return self.last_ping is None

    def curl_line(self) -> str:
        return curl_line(self.url)

    def as_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "environment": self.environment or None,
            "url": self.url,
            "curl": curl_line(self.url),
            "period_s": self.period,
            "grace_s": self.grace,
            "pings": self.pings,
            "last_ping": self.last_ping,
            "state": WAITING if self.waiting else "pinged",
        }


def curl_line(url: str) -> str:
    """The line a job adds at its end (retries, bounded, quiet unless it fails)."""
    return f"curl -fsS -m 10 --retry 3 -o /dev/null {url}"


def ping_urls(store: Store, config: ShieldConfig) -> list[PingUrl]:
    """Every enabled heartbeat check crossed with its environments, with its ping URL (the
    row and its token are created here when the monitor has not run yet, so the URL printed
    before the first run is the one the monitor then watches)."""
    from prodshield.config.checks import HeartbeatCheckConfig

    base = PingBase.of(config)
    out: list[PingUrl] = []
    for check in config.checks:
        if not check.enabled or not isinstance(check, HeartbeatCheckConfig):
            continue
        for env in check.environments or [""]:
            beat = ensure_heartbeat(store, check.name, env)
            out.append(
                PingUrl(
                    check=check.name,
                    environment=env,
                    key=beat.key,
                    url=f"{base.url}/heartbeat/{beat.token}",
                    period=float(check.period),
                    grace=float(check.grace),
                    pings=beat.pings,
                    last_ping=beat.last_ping,
                    created_at=beat.created_at,
                )
            )
    return out


def waiting_targets(store: Store, config: ShieldConfig) -> set[tuple[str, str]]:
    """(check, environment) of the heartbeat checks never pinged: shown as "waiting for the
    first ping" instead of up (or unknown) until a ping arrives or the check turns down late."""
    from prodshield.config.checks import HeartbeatCheckConfig

    by_key: dict[str, tuple[str, str]] = {}
    for check in config.checks:
        if check.enabled and isinstance(check, HeartbeatCheckConfig):
            for env in check.environments or [""]:
                by_key[heartbeat_key(check.name, env)] = (check.name, env)
    if not by_key:
        return set()
    h = t.heartbeats
    with store.connect() as conn:
        pinged = {
            str(row[0])
            for row in conn.execute(
                select(h.c.check_name).where(
                    h.c.check_name.in_(list(by_key)), h.c.last_ping.is_not(None)
                )
            )
        }
    return {target for key, target in by_key.items() if key not in pinged}


def shown_status(status: str, waiting: bool) -> str:
    """The state to show: ``waiting`` for a never-pinged heartbeat that is not down."""
    return WAITING if waiting and status in ("up", "unknown") else status
