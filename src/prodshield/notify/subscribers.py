"""Status page subscriptions: visitors who asked to hear about incidents, by webhook or email.

A subscription starts ``pending``: a confirmation message goes to the address itself (an email
with a link; for a webhook, a ``subscription.confirm`` POST carrying the token the receiver posts
back), and only a confirmed subscriber hears anything else (double opt-in). Every message carries
an unsubscribe link. Tokens are not stored: they are HMACs of the subscription (its id and
creation time) under the installation's key (``notify/markers.thread_key``), so a leaked store
row cannot confirm or cancel anything and a re-created subscription gets new links.

Delivery goes through the outbox like every notification: one row per subscriber and message,
under the notifier name :data:`SUBSCRIBERS`, with an idempotency key per (subscriber, incident,
phase), so retries apply and each subscriber gets an incident's opening, each update and its
resolution once. The subscriber is looked up when the row is sent: an unsubscribed one is
skipped. A webhook's address is checked again when it is connected to (a resolver that refuses
non-public addresses unless ``serve.subscriptions.allow_private_targets``), so a name that
resolved to a public address at subscription and to ``127.0.0.1`` later is still refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import socket
import time
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.exc import IntegrityError

from prodshield.config.notifiers import EmailNotifierConfig, NotifierBase
from prodshield.config.schema import ShieldConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event
from prodshield.notify.http import post_json
from prodshield.notify.markers import thread_key
from prodshield.notify.outbox import enqueue_in
from prodshield.notify.providers.base import ConfigModel, DeliveryContext
from prodshield.notify.providers.email import EmailNotifier, build_message
from prodshield.secrets.redaction import redact_text
from prodshield.store import tables as t

SUBSCRIBERS = "status-subscribers"
"""The outbox's notifier name for every subscriber's messages."""
CONFIRM = "subscription.confirm"
PENDING, CONFIRMED = "pending", "confirmed"
RESEND_AFTER_S = 3600.0
"""A pending subscription's confirmation is sent again at most this often (asking twice does
not flood an inbox)."""
PHASES = ("opened", "update", "resolved")
MAX_EMAIL = 254
MAX_URL = 2000
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$"
)


class SubscriptionError(ValueError):
    """A subscribe request that cannot be accepted (the message is safe to show the visitor)."""


class SubscriptionsFull(Exception):
    """No room for another subscription (``max_subscribers`` confirmed, or ``max_pending``
    waiting for their confirmation)."""


# --- addresses -----------------------------------------------------------------------------------


def allowed_address(address: str, allow_private: bool) -> bool:
    """May prodshield connect to this IP address? Only public (global unicast) ones, unless the
    operator allows private targets."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return not ip.is_unspecified and not ip.is_multicast
    return ip.is_global and not ip.is_multicast


def check_email(address: str) -> str:
    """The address, stripped, or SubscriptionError."""
    address = address.strip()
    if len(address) > MAX_EMAIL or not _EMAIL.match(address):
        raise SubscriptionError("that is not an email address")
    return address


def check_webhook_url(url: str) -> tuple[str, str, int]:
    """The URL, its host and port, or SubscriptionError (only http(s), no credentials)."""
    url = url.strip()
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        raise SubscriptionError("that is not a usable webhook URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SubscriptionError("that is not a usable webhook URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubscriptionError("a webhook URL starts with https:// (or http://)")
    if parts.username or parts.password:
        raise SubscriptionError("a webhook URL may not carry a user name or password")
    return url, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve_allowed(host: str, port: int, allow_private: bool, timeout: float = 5.0) -> None:
    """Raise SubscriptionError unless every address ``host`` resolves to may be connected to."""
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
        )
    except (OSError, TimeoutError):
        raise SubscriptionError(f"the webhook's host {host[:100]} cannot be resolved") from None
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(allowed_address(a, allow_private) for a in addresses):
        raise SubscriptionError(
            "the webhook's host resolves to a private or local address, which this status page "
            "does not call"
        )


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's resolver, refusing names that resolve to addresses prodshield may not call
    (checked at connection time: the address connected to is the address checked)."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if not found or not all(allowed_address(r["host"], self.allow_private) for r in found):
            raise OSError(f"{host} resolves to a private or local address")
        return found

    async def close(self) -> None:
        await self._inner.close()


# --- tokens --------------------------------------------------------------------------------------


def _sig(key: bytes, what: str, sub_id: int, created_at: float) -> str:
    msg = f"{what}\0{sub_id}\0{created_at:.6f}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:40]


def token_for(key: bytes, what: Literal["confirm", "unsubscribe"], row: Any) -> str:
    """The token of a confirm or unsubscribe link for this subscription row."""
    return f"{int(row.id)}.{_sig(key, what, int(row.id), float(row.created_at))}"


def _row_for(conn: Connection, key: bytes, what: str, token: str) -> Any:
    sub_id, _, sig = token.strip().partition(".")
    if not sub_id.isdigit() or len(sub_id) > 18 or len(sig) != 40:
        return None
    s = t.status_subscribers
    row = conn.execute(select(s).where(s.c.id == int(sub_id))).first()
    if row is None:
        return None
    good = _sig(key, what, int(row.id), float(row.created_at))
    return row if hmac.compare_digest(good, sig) else None


# --- subscribing ---------------------------------------------------------------------------------


def subscribe(
    store: Any,
    config: ShieldConfig,
    kind: str,
    target: str,
    *,
    client: str = "",
    now: float | None = None,
) -> None:
    """Record a pending subscription and queue its confirmation message (an already confirmed
    one is left alone, and a pending one is asked again at most hourly: the answer is the same
    either way, so the endpoint does not tell who is subscribed). ``target`` must have been
    checked (:func:`check_email`, :func:`check_webhook_url` and :func:`resolve_allowed`)."""
    now = time.time() if now is None else now
    settings = config.serve.subscriptions
    s = t.status_subscribers
    with store.begin() as conn:
        prune_pending(conn, settings.pending_ttl, now)
        row = conn.execute(select(s).where(s.c.kind == kind, s.c.target == target)).first()
        if row is None:
            # confirmed and pending are bounded apart: a flood of unconfirmed requests fills
            # ``max_pending`` (and expires), never a confirmed subscriber's place
            held = _count(conn, CONFIRMED)
            if held >= settings.max_subscribers or _count(conn, PENDING) >= settings.max_pending:
                raise SubscriptionsFull()
            try:
                with conn.begin_nested():  # another request for the same address may win
                    conn.execute(
                        s.insert().values(
                            kind=kind,
                            target=target,
                            secret=secrets.token_hex(24),
                            status=PENDING,
                            created_at=now,
                            client=client[:64],
                        )
                    )
            except IntegrityError:
                return  # that request sends the confirmation
            row = conn.execute(select(s).where(s.c.kind == kind, s.c.target == target)).one()
        elif row.status == CONFIRMED or (
            row.confirm_sent_at is not None and row.confirm_sent_at > now - RESEND_AFTER_S
        ):
            return
        conn.execute(s.update().where(s.c.id == row.id).values(confirm_sent_at=now))
        enqueue_in(
            conn,
            [SUBSCRIBERS],
            {
                "key": f"subscriber:{row.id}:confirm:{now:.3f}",
                "type": CONFIRM,
                "subject": f"subscriber:{row.id}:confirm",
                "title": f"Confirm your subscription to {config.serve.title}",
                "body": "Someone (we hope you) asked to be told about incidents on this status "
                "page. Nothing more is sent unless the subscription is confirmed.",
                "severity": "info",
                "fields": {},
            },
            now,
        )


def prune_pending(conn: Connection, ttl: float, now: float) -> int:
    """Forget the subscriptions still unconfirmed ``ttl`` seconds after they were asked for;
    how many."""
    s = t.status_subscribers
    gone = conn.execute(delete(s).where(s.c.status == PENDING, s.c.created_at < now - ttl))
    return max(gone.rowcount or 0, 0)


def _count(conn: Connection, status: str) -> int:
    s = t.status_subscribers
    return int(conn.execute(select(func.count()).where(s.c.status == status)).scalar() or 0)


def confirm(
    store: Any,
    token: str,
    now: float | None = None,
    *,
    config: ShieldConfig | None = None,
) -> bool:
    """Confirm the subscription this token names (True also when it already was; False when the
    token names nothing, or a request that expired unconfirmed). :class:`SubscriptionsFull`
    when ``max_subscribers`` are already confirmed."""
    now = time.time() if now is None else now
    settings = (config or ShieldConfig()).serve.subscriptions
    key = thread_key(store)
    s = t.status_subscribers
    with store.begin() as conn:
        prune_pending(conn, settings.pending_ttl, now)
        row = _row_for(conn, key, "confirm", token)
        if row is None:
            return False
        if row.status != CONFIRMED:
            if _count(conn, CONFIRMED) >= settings.max_subscribers:
                raise SubscriptionsFull()
            conn.execute(
                s.update().where(s.c.id == row.id).values(status=CONFIRMED, confirmed_at=now)
            )
    return True


def unsubscribe(store: Any, token: str) -> bool:
    """Forget the subscription this token names; its queued messages are dropped when sent."""
    key = thread_key(store)
    s = t.status_subscribers
    with store.begin() as conn:
        row = _row_for(conn, key, "unsubscribe", token)
        if row is None:
            return False
        conn.execute(delete(s).where(s.c.id == row.id))
    return True


def counts(store: Any) -> dict[str, int]:
    """Subscriptions by status (for the dashboard and tests)."""
    s = t.status_subscribers
    with store.connect() as conn:
        rows = conn.execute(select(s.c.status, func.count()).group_by(s.c.status)).all()
    return {str(a): int(b) for a, b in rows}


def listing(
    store: Any, *, config: ShieldConfig | None = None, now: float | None = None
) -> list[dict[str, Any]]:
    """Every subscription, oldest first, for the operator (webhook URLs redacted: they may carry
    a token); pending ones past ``pending_ttl`` are pruned first."""
    now = time.time() if now is None else now
    settings = (config or ShieldConfig()).serve.subscriptions
    s = t.status_subscribers
    with store.begin() as conn:
        prune_pending(conn, settings.pending_ttl, now)
        rows = conn.execute(select(s).order_by(s.c.id)).all()
    return [
        {
            "id": int(r.id),
            "kind": r.kind,
            "target": r.target if r.kind == "email" else _shown_url(r.target),
            "status": r.status,
            "created_at": r.created_at,
            "confirmed_at": r.confirmed_at,
            "expires_at": r.created_at + settings.pending_ttl if r.status == PENDING else None,
        }
        for r in rows
    ]


def _shown_url(url: str) -> str:
    parts = urlsplit(url)
    return redact_text(f"{parts.scheme}://{parts.netloc}{parts.path}")[:200]


def remove(store: Any, sub_id: int) -> bool:
    """The operator removes a subscription (its queued messages are dropped when sent)."""
    s = t.status_subscribers
    with store.begin() as conn:
        return bool(conn.execute(delete(s).where(s.c.id == sub_id)).rowcount)


# --- announcing ----------------------------------------------------------------------------------


def announce(
    conn: Connection,
    config: ShieldConfig,
    incident: Any,
    phase: str,
    now: float,
    *,
    text: str = "",
    seq: str = "",
) -> int:
    """Queue one message per confirmed subscriber about ``incident`` (a row of ``incidents``):
    its opening, a written update (``seq`` tells updates apart) or its resolution. Returns how
    many were queued; nothing when subscriptions are off."""
    if not config.serve.subscriptions.enabled or phase not in PHASES:
        return 0
    s = t.status_subscribers
    ids = [int(r[0]) for r in conn.execute(select(s.c.id).where(s.c.status == CONFIRMED))]
    if not ids:
        return 0
    env = f" [{incident.environment}]" if incident.environment else ""
    name = f"{incident.check_name}{env}"
    title = incident.title or name
    head = {
        "opened": f"Incident: {title}",
        "update": f"Update: {title}",
        "resolved": f"Resolved: {title}",
    }[phase]
    body = (
        text
        or {
            "opened": f"An incident on {name} began at {_iso(incident.opened_at)} UTC.",
            "update": "",
            "resolved": f"The incident on {name} is resolved.",
        }[phase]
    )
    base = (config.serve.public_url or "").rstrip("/")
    for sub_id in ids:
        enqueue_in(
            conn,
            [SUBSCRIBERS],
            {
                "key": f"subscriber:{sub_id}:incident:{incident.id}:{phase}{seq}",
                "type": {
                    "opened": "incident.opened",
                    "update": "incident.note",
                    "resolved": "incident.resolved",
                }[phase],
                "subject": f"subscriber:{sub_id}:incident:{incident.id}",
                "title": head,
                "body": body,
                "severity": "info",
                "fields": {
                    "incident": str(incident.id),
                    "phase": phase,
                    "service": incident.check_name,
                    "environment": incident.environment or "",
                },
                "url": f"{base}/#incident-{incident.id}" if base else None,
            },
            now,
        )
    return len(ids)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))


# --- delivering ----------------------------------------------------------------------------------


class SubscribersDelivery(NotifierBase):
    """The outbox's view of the subscriptions (not a ``notifiers:`` entry): made from
    ``serve.subscriptions`` by :func:`delivery_notifiers`."""

    type: Literal["subscribers"] = "subscribers"
    base_url: str
    email: EmailNotifierConfig | None = None
    allow_private: bool = False


def delivery_notifiers(config: ShieldConfig) -> dict[str, NotifierBase]:
    """The notifiers a delivery worker serves: ``notifiers:`` and, with subscriptions on, the
    subscribers."""
    out: dict[str, NotifierBase] = dict(config.notifiers)
    settings = config.serve.subscriptions
    if settings.enabled:
        mail = config.notifiers.get(settings.email or "")
        serve = config.serve
        out[SUBSCRIBERS] = SubscribersDelivery(
            base_url=(serve.public_url or f"http://{serve.host}:{serve.port}").rstrip("/"),
            email=mail if isinstance(mail, EmailNotifierConfig) else None,
            allow_private=settings.allow_private_targets,
        )
    return out


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _subscriber_id(event: Event) -> int:
    parts = event.subject.split(":")
    if len(parts) < 2 or parts[0] != "subscriber" or not parts[1].isdigit():
        raise NotifyError(f"not a subscriber's message: {event.subject[:80]}", permanent=True)
    return int(parts[1])


def load(store: Any, sub_id: int) -> Any:
    """The subscription row ``sub_id``, or None."""
    s = t.status_subscribers
    with store.connect() as conn:
        return conn.execute(select(s).where(s.c.id == sub_id)).first()


class SubscriberNotifier:
    """Sends a subscriber's message to its webhook or email address (looked up at send time)."""

    type: ClassVar[str] = "subscribers"
    example: ClassVar[dict[str, Any]] = {
        "type": "subscribers",
        "base_url": "https://status.example.com",
    }
    config_model: ClassVar[ConfigModel] = SubscribersDelivery

    def __init__(self, config: SubscribersDelivery) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        mail = self.config.email
        return [mail.password] if mail is not None and mail.password else []

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        if ctx.journal is None or not ctx.marker_key:
            raise NotifyError("subscribers: no store to look the subscriber up in", permanent=True)
        sub_id = _subscriber_id(event)
        row = await ctx.journal.subscriber(sub_id)
        if row is None:
            return {"skipped": "unsubscribed"}
        if event.type == CONFIRM:
            if row.status == CONFIRMED:
                return {"skipped": "already confirmed"}
        elif row.status != CONFIRMED:
            return {"skipped": "not confirmed"}
        key = ctx.marker_key
        base = self.config.base_url
        links = {
            "unsubscribe_url": f"{base}/status/unsubscribe?token="
            + quote(token_for(key, "unsubscribe", row))
        }
        if event.type == CONFIRM:
            links["confirm_url"] = f"{base}/status/confirm?token=" + quote(
                token_for(key, "confirm", row)
            )
        if row.kind == "webhook":
            return await self._webhook(event, ctx, row, links)
        if row.kind == "email":
            return await self._email(event, ctx, row, links)
        raise NotifyError(f"subscriber {sub_id}: unknown kind {row.kind!r}", permanent=True)

    async def _webhook(
        self, event: Event, ctx: DeliveryContext, row: Any, links: dict[str, str]
    ) -> dict[str, Any]:
        try:
            url, host, port = check_webhook_url(row.target)
        except SubscriptionError as exc:
            raise NotifyError(f"subscriber webhook: {exc}", permanent=True) from None
        if _is_literal(host):
            # aiohttp connects to an address literal without asking the resolver
            if not allowed_address(host, self.config.allow_private):
                raise NotifyError(
                    "subscriber webhook: a private or local address is refused", permanent=True
                )
        else:
            try:  # a clear, final answer now; the connector's resolver checks again
                await resolve_allowed(host, port, self.config.allow_private)
            except SubscriptionError as exc:
                permanent = "private or local" in str(exc)
                raise NotifyError(f"subscriber webhook: {exc}", permanent=permanent) from None
        payload: dict[str, Any] = {"event": event.to_dict(), "attempt": ctx.attempt, **links}
        if event.type == CONFIRM:
            payload["token"] = links["confirm_url"].rsplit("token=", 1)[1]
            payload["secret"] = row.secret  # the signing secret, told only to the endpoint
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "prodshield",
            "X-Prodshield-Event": event.type,
            "X-Prodshield-Idempotency-Key": event.key,
            "X-Prodshield-Signature": "sha256="
            + hmac.new(row.secret.encode(), body, hashlib.sha256).hexdigest(),
        }
        connector = aiohttp.TCPConnector(
            resolver=PublicOnlyResolver(self.config.allow_private), force_close=True, limit=4
        )
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
            try:
                status, _ = await post_json(
                    session, "subscriber webhook", url, body, headers=headers, timeout=ctx.timeout
                )
            except NotifyError as exc:
                if "private or local address" in str(exc):
                    raise NotifyError(str(exc), permanent=True) from None
                raise
        return {"status": status, "subscriber": int(row.id)}

    async def _email(
        self, event: Event, ctx: DeliveryContext, row: Any, links: dict[str, str]
    ) -> dict[str, Any]:
        mail = self.config.email
        if mail is None:
            raise NotifyError(
                "subscriber email: serve.subscriptions.email names no email notifier",
                permanent=True,
            )
        message = dataclasses.replace(event)
        extra = []
        if "confirm_url" in links:
            extra.append(f"Confirm the subscription: {links['confirm_url']}")
        extra.append(f"Unsubscribe: {links['unsubscribe_url']}")
        # added after the event's redaction: the links are ours, not outside text
        message.body = (message.body.rstrip() + "\n\n" + "\n".join(extra)).strip()
        message.fields = {k: v for k, v in event.fields.items() if k != "phase"}
        config = mail.model_copy(update={"to": [row.target]})
        msg = build_message(message, config)
        # RFC 8058 one-click unsubscribe: mail clients POST List-Unsubscribe=One-Click to it
        msg["List-Unsubscribe"] = f"<{links['unsubscribe_url']}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        await asyncio.to_thread(EmailNotifier(config).send_message, msg, ctx.timeout)
        return {"message_id": msg["Message-ID"], "subscriber": int(row.id)}
