"""Heartbeats: jobs ping prodshield; a missing ping past ``period + grace`` is a failure.

``prodshield serve`` exposes the ping URL (``<base>/heartbeat/<token>``, GET or POST); this
module keeps the rows behind it and says where each check's URL is (``ping_urls``). A row, and
its URL token, belongs to one check in one environment (``""`` for a check without
environments): a heartbeat check run in production and staging has two URLs, and a ping to one
never keeps the other green. A heartbeat never pinged is *waiting for the first ping* (state
``waiting``), neither up nor down, until its first ``period + grace`` has passed.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, select

from prodshield.config.schema import ShieldConfig
from prodshield.store import Store
from prodshield.store import tables as t

WAITING = "waiting"
"""The state of a heartbeat check that has never been pinged (and is not late yet)."""
WAITING_LABEL = "waiting for the first ping"


OUTPUT_LIMIT = 10 * 1024
"""The tail of a job's output kept with a signal (bytes)."""


@dataclass(frozen=True)
class Heartbeat:
    check: str
    environment: str
    token: str
    last_ping: float | None
    pings: int
    created_at: float | None
    started_at: float | None = None
    """When the current run sent ``/start`` (None once it finished)."""
    failed_at: float | None = None
    """When the job last signalled failure (``/fail`` or a non-zero exit code)."""
    exit_code: int | None = None
    duration_s: float | None = None
    """The last finished run's time from ``/start`` to its result."""
    output: str | None = None
    """The tail of the last run's output (redacted), when the job sent it."""

    @property
    def key(self) -> str:
        """The check and environment as shown (``check@environment``)."""
        return heartbeat_key(self.check, self.environment)

    @classmethod
    def of(cls, row: Any) -> Heartbeat:
        return cls(
            row.check_name,
            row.environment,
            row.token,
            row.last_ping,
            row.pings,
            row.created_at,
            row.started_at,
            row.failed_at,
            row.exit_code,
            row.duration_s,
            row.output,
        )


def heartbeat_key(check_name: str, environment: str = "") -> str:
    """How a check in an environment is named in text (``check@environment``); the store keys
    rows by the pair, never by this string."""
    return f"{check_name}@{environment}" if environment else check_name


def _is(check_name: str, environment: str) -> Any:
    h = t.heartbeats
    return (h.c.check_name == check_name) & (h.c.environment == environment)


def ensure_heartbeat(store: Store, check_name: str, environment: str = "") -> Heartbeat:
    """The heartbeat row of a check in an environment, created (with a fresh URL token) on first
    use."""
    h = t.heartbeats
    with store.begin() as conn:
        row = conn.execute(select(h).where(_is(check_name, environment))).first()
        if row is None:
            now = time.time()
            token = secrets.token_urlsafe(18)
            conn.execute(
                h.insert().values(
                    check_name=check_name,
                    environment=environment,
                    token=token,
                    last_ping=None,
                    pings=0,
                    created_at=now,
                )
            )
            return Heartbeat(check_name, environment, token, None, 0, now)
    return Heartbeat.of(row)


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
            .where(_is(check_name, environment))
            .values(last_ping=now, pings=h.c.pings + 1)
        )
    return Heartbeat(
        check_name, environment, current.token, now, current.pings + 1, current.created_at
    )


def ping_by_token(store: Store, token: str, *, now: float | None = None) -> tuple[str, str] | None:
    """Record a ping for the heartbeat whose URL token is ``token`` (``serve``'s ping endpoint);
    return its (check, environment), or None when no heartbeat has that token. One transaction
    (a success signal: see :func:`record_signal`)."""
    return record_signal(store, token, "success", now=now)


def find_by_token(store: Store, token: str) -> Heartbeat | None:
    """The heartbeat a ping URL token belongs to (for ``prodshield serve``)."""
    h = t.heartbeats
    with store.connect() as conn:
        row = conn.execute(select(h).where(h.c.token == token)).first()
    if row is None:
        return None
    return Heartbeat.of(row)


_PIECE = 512


def redact_output(text: str) -> str:
    """A job's output with secrets masked, line by line and in pieces of at most ``_PIECE``
    characters (cut at a space where there is one): the masking pass is slow on a long line,
    and a job's output is whatever the job printed."""
    from prodshield.secrets.redaction import redact_text

    out: list[str] = []
    for line in text.splitlines(keepends=True):
        while len(line) > _PIECE:
            cut = line.rfind(" ", _PIECE // 2, _PIECE)
            cut = cut + 1 if cut > 0 else _PIECE
            out.append(redact_text(line[:cut]))
            line = line[cut:]
        out.append(redact_text(line))
    return "".join(out)


def parse_signal(text: str | None) -> tuple[str, int | None] | None:
    """A ping URL's last segment as (signal, exit code): none or ``0`` is ``success``,
    ``start``, ``fail``, or a non-zero exit code (``fail`` with the code); None if it is none."""
    if text is None or text == "":
        return ("success", None)
    if text in ("start", "fail"):
        return (text, None)
    if text.isdigit() and len(text) <= 3 and int(text) <= 255:
        code = int(text)
        return ("success", 0) if code == 0 else ("fail", code)
    return None


def record_signal(
    store: Store,
    token: str,
    signal: str,
    exit_code: int | None = None,
    output: str | None = None,
    *,
    now: float | None = None,
) -> tuple[str, str] | None:
    """Record ``start``, ``success`` or ``fail`` for the heartbeat whose URL token is ``token``;
    return its (check, environment) (None: unknown token). A finished run's time is measured from its start; the
    output's last ``OUTPUT_LIMIT`` bytes are kept, secrets masked (it comes from a job's logs)."""
    now = time.time() if now is None else now
    h = t.heartbeats
    with store.begin() as conn:
        row = conn.execute(select(h).where(h.c.token == token)).first()
        if row is None:
            return None
        if signal == "start":
            conn.execute(h.update().where(h.c.token == token).values(started_at=now))
            return (str(row.check_name), str(row.environment))
        tail = None
        if output:
            tail = output.encode("utf-8", "replace")[-OUTPUT_LIMIT:].decode("utf-8", "replace")
            tail = redact_output(tail)
        values: dict[str, Any] = {
            "started_at": None,
            "exit_code": exit_code,
            "duration_s": (now - row.started_at) if row.started_at is not None else None,
            "output": tail,
        }
        if signal == "success":
            values.update(last_ping=now, pings=h.c.pings + 1)
        else:
            values.update(failed_at=now)
        conn.execute(h.update().where(h.c.token == token).values(**values))
    return (str(row.check_name), str(row.environment))


def last_due(schedule: str, tz: str | None, now: float) -> float:
    """When the run of cron ``schedule`` (in time zone ``tz``, default UTC) last fell due."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from croniter import croniter

    zone = ZoneInfo(tz or "UTC")
    return float(croniter(schedule, datetime.fromtimestamp(now, zone)).get_prev(float))


LISTENING = ("serve", "listening")
"""The store's kv key where a running ``prodshield serve`` records the address it bound: with
``serve.port: 0`` it is the only way another process (``run-job``) learns the port."""


def record_listening(store: Store, host: str, port: int) -> None:
    """Record that this process's ``serve`` listens on ``host``:``port``."""
    store.kv_set(*LISTENING, {"host": host, "port": port, "pid": os.getpid(), "at": time.time()})


def forget_listening(store: Store, host: str, port: int) -> None:
    """Remove the record at shutdown, unless another ``serve`` on the store has replaced it."""
    value = store.kv_get(*LISTENING)
    if not isinstance(value, dict):
        return
    if (value.get("host"), value.get("port"), value.get("pid")) == (host, port, os.getpid()):
        namespace, key = LISTENING
        with store.begin() as conn:
            conn.execute(delete(t.kv).where(t.kv.c.namespace == namespace, t.kv.c.key == key))


def recorded_listening(store: Store) -> tuple[str, int] | None:
    """The (host, port) a running ``serve`` on this store recorded (None: none did)."""
    value = store.kv_get(*LISTENING)
    if not isinstance(value, dict):
        return None
    host, port = value.get("host"), value.get("port")
    if not isinstance(host, str) or not isinstance(port, int) or not 0 < port < 65536:
        return None
    return host, port


def _answers(host: str, port: int) -> bool:
    """Whether something accepts a TCP connection on ``host``:``port`` within a second (a host
    that listens everywhere is tried on loopback)."""
    import socket

    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class PingBase:
    """Where jobs reach ``prodshield serve``: ``serve.public_url``, else its host and port."""

    url: str
    configured: bool
    """True when ``serve.public_url`` says it; False when guessed from ``serve.host``/``port``."""
    port_known: bool = True
    """False when guessed and ``serve.port`` is 0: serve picks a free port each time it starts,
    so the URL holds ``PORT`` in its place and cannot be known in advance."""
    port_set: bool = True
    """Whether shield.yaml gives ``serve.port`` (else the default, 8080, is assumed)."""
    recorded: bool = False
    """True when the address is the one a running ``serve`` recorded in the store (``serve.port:
    0``): right while that serve runs, another when it restarts."""
    stale: str = ""
    """``host:port`` recorded in the store where nothing answers: that serve stopped without
    removing its record (killed), so the port is not known."""

    @classmethod
    def of(cls, config: ShieldConfig, bound: tuple[str, int] | None = None) -> PingBase:
        """From the config; ``bound``: the (host, port) a running ``serve`` listens on, which
        then replaces ``serve.host``/``serve.port`` (``serve.public_url`` still comes first)."""
        serve = config.serve
        if serve.public_url:
            return cls(serve.public_url.rstrip("/"), True)
        host, port = bound if bound is not None else (serve.host, serve.port)
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"  # listening everywhere: loopback is one address that works here
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return cls(
            f"http://{host}:{port or 'PORT'}",
            False,
            port_known=bool(port),
            port_set=bound is not None or "port" in serve.model_fields_set,
        )

    @classmethod
    def for_job(cls, config: ShieldConfig, store: Store, *, alive: bool = False) -> PingBase:
        """Where a job run on this machine (``run-job``, ``monitor heartbeats``) pings: as
        :meth:`of`, except that with ``serve.port: 0`` the address a running ``serve`` recorded
        in the store is used; ``alive``: only when something answers there (one connection,
        at most a second), else the record is ``stale``."""
        base = cls.of(config)
        if base.port_known:
            return base
        bound = recorded_listening(store)
        if bound is None:
            return base
        if alive and not _answers(*bound):
            return replace(base, stale=f"{bound[0]}:{bound[1]}")
        return replace(cls.of(config, bound), recorded=True)

    def note(self) -> str | None:
        """What a reader of these URLs must know when they are guessed (None: configured)."""
        if self.configured:
            return None
        if not self.port_known:
            why = (
                f"the store records it on {self.stale}, but nothing answers there: it stopped "
                "without removing its record"
                if self.stale
                else "no address recorded in the store"
            )
            return (
                f"note: `prodshield serve` is not running ({why}) and "
                "serve.port is 0, so it picks a free port each time it starts and these URLs "
                f"cannot be known in advance ({self.url}: PORT stands for it); start serve and "
                "run this again, or set serve.public_url, or a fixed serve.port, to the address "
                "your jobs reach"
            )
        if self.recorded:
            return (
                f"note: these URLs use {self.url}, where the running `prodshield serve` "
                "listens now; serve.port is 0, so it picks another port when it restarts: set "
                "serve.public_url, or a fixed serve.port, for jobs that outlive it"
            )
        where = "serve.port in shield.yaml" if self.port_set else "the default serve.port"
        return (
            f"note: serve.public_url is not set, so these URLs assume `prodshield serve` listens "
            f"on {self.url} ({where}); started with another --port, or behind a proxy, it is "
            "not there: set serve.public_url to the address your jobs reach"
        )


@dataclass(frozen=True)
class PingUrl:
    """One heartbeat check (per environment) and the URL its job pings."""

    check: str
    environment: str
    key: str
    url: str
    period: float | None
    grace: float
    pings: int
    last_ping: float | None
    created_at: float | None
    schedule: str | None = None
    tz: str | None = None

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
            "schedule": self.schedule,
            "tz": self.tz,
            "grace_s": self.grace,
            "pings": self.pings,
            "last_ping": self.last_ping,
            "state": WAITING if self.waiting else "pinged",
        }


def curl_line(url: str) -> str:
    """The line a job adds at its end (retries, bounded, quiet unless it fails)."""
    return f"curl -fsS -m 10 --retry 3 -o /dev/null {url}"


def ping_urls(store: Store, config: ShieldConfig, base: PingBase | None = None) -> list[PingUrl]:
    """Every enabled heartbeat check crossed with its environments, with its ping URL at
    ``base`` (default: ``PingBase.of(config)``); the row and its token are created here when the
    monitor has not run yet, so the URL printed before the first run is the one the monitor
    then watches."""
    from prodshield.config.checks import HeartbeatCheckConfig

    base = base if base is not None else PingBase.of(config)
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
                    period=float(check.period) if check.period is not None else None,
                    grace=float(check.grace),
                    pings=beat.pings,
                    last_ping=beat.last_ping,
                    created_at=beat.created_at,
                    schedule=check.schedule,
                    tz=check.tz,
                )
            )
    return out


def waiting_targets(store: Store, config: ShieldConfig) -> set[tuple[str, str]]:
    """(check, environment) of the heartbeat checks never pinged: shown as "waiting for the
    first ping" instead of up (or unknown) until a ping arrives or the check turns down late."""
    from prodshield.config.checks import HeartbeatCheckConfig

    targets: set[tuple[str, str]] = set()
    for check in config.checks:
        if check.enabled and isinstance(check, HeartbeatCheckConfig):
            for env in check.environments or [""]:
                targets.add((check.name, env))
    if not targets:
        return set()
    h = t.heartbeats
    with store.connect() as conn:
        pinged = {
            (str(row[0]), str(row[1]))
            for row in conn.execute(
                select(h.c.check_name, h.c.environment).where(
                    h.c.check_name.in_(sorted({name for name, _ in targets})),
                    h.c.last_ping.is_not(None),
                )
            )
        }
    return targets - pinged


def shown_status(status: str, waiting: bool) -> str:
    """The state to show: ``waiting`` for a never-pinged heartbeat that is not down."""
    return WAITING if waiting and status in ("up", "unknown") else status
