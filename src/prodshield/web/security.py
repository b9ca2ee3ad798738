"""Who may do what: the login token, session cookies, CSRF tokens and the security headers.

- The token is compared in constant time (``hmac.compare_digest``).
- A session cookie is ``issued.nonce.mac`` signed with a key derived from the token, so sessions
  survive restarts, are shared by several instances, and die when the token changes. It is
  ``HttpOnly``, ``SameSite=Strict`` and ``Secure`` whenever the request came over HTTPS.
- Every state-changing request needs either ``Authorization: Bearer <token>`` (not sent by
  browsers on their own, so no CSRF) or a session plus its CSRF token (form field ``csrf`` or
  header ``X-CSRF-Token``).
- Wrong tokens are counted per client (an IPv6 client per /64) on every surface that takes one: ten in a minute and that
  client gets 429 on that surface for the rest of the minute. At most ``MAX_TRACKED_CLIENTS``
  clients are counted (``FailureLog``): a newcomer pushes out the least recent one, the clients
  being throttled last, so addresses from many /64s cannot wipe an offender's count. The operator's token (login form,
  bearer API, signed webhooks) is one bucket; heartbeat URLs, whose tokens are other secrets, are
  another, so a cron job pinging a stale URL never locks its host out of the API, nor the other way.
- Logout revokes its session on the server: the nonce is kept (in memory and in the store's
  ``kv``, so a restart or another instance sees it) until the session would have expired anyway.
- The client's address and scheme come from ``X-Forwarded-For`` / ``X-Forwarded-Proto`` only when
  the connection comes from one of ``serve.trusted_proxies``.
- Every comparison is of bytes, so a non-ASCII cookie or CSRF token is a mismatch, never an error.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "prodshield_session"
LOGIN_CSRF_COOKIE = "prodshield_login"
SESSION_TTL = 12 * 3600.0
REVOKED = "web.revoked_sessions"
"""``kv`` namespace of sessions ended by logout: nonce -> when the session would have expired."""
REVOCATION_RECHECK = 5.0
"""How often the sessions revoked by other instances are re-read from the store (so another
instance's logout applies here within about this long)."""
MAX_TRACKED_CLIENTS = 10_000
"""How many clients (per surface) the throttle counts wrong tokens for at once."""

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def generate_token() -> str:
    """A fresh login token for a service started without one configured."""
    return secrets.token_urlsafe(24)


def redact(secret: str) -> str:
    """What may be shown of a secret: its first four characters."""
    return (secret[:4] + "…") if len(secret) > 8 else "…"


OPERATOR = "operator"
"""Who ``serve.token`` names (acknowledgements and notes made with it say ``operator``)."""


@dataclass(frozen=True)
class Session:
    nonce: str
    issued: float
    csrf: str

    @property
    def user(self) -> str:
        """The name of the token the session logged in with (signed, as part of the nonce)."""
        name, sep, _ = self.nonce.partition("~")
        return name if sep and name else OPERATOR


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two strings, whatever characters they hold."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


def networks(items: Iterable[str]) -> Networks:
    """Trusted proxies (addresses or CIDR ranges), parsed; the connection limits use them too."""
    return [ipaddress.ip_network(item, strict=False) for item in items]


def in_networks(host: str, nets: Networks) -> bool:
    """Whether ``host`` is an address inside one of ``nets`` (a name never is)."""
    if not nets:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in nets)


def client_key(host: str) -> str:
    """Whom a connection or a wrong token counts against: its IPv4 address, or its IPv6 /64 (one
    host is commonly given a whole /64, so single addresses would not bound it)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if not address.is_loopback:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


TOKEN = "token"
"""The throttle's bucket for the operator's and users' tokens (login form, bearer API, webhooks)."""
HEARTBEAT = "heartbeat"
"""The throttle's bucket for heartbeat URLs."""


Key = tuple[str, str]


class FailureLog:
    """Wrong tokens per (surface, client) in the last ``window`` seconds, for at most ``limit``
    clients. A newcomer to a full log pushes out the client whose last failure is oldest: first
    the expired ones, then the clients under the threshold, and the clients at it (the offenders
    being throttled) only when every client counted is one. Each client keeps at most
    ``threshold`` times (enough to say it reached it), so memory stays bounded either way.

    (It cleared every count once it held 10,000 clients: an attacker with that many IPv6 /64s
    reset its own count, and every other offender's, whenever it liked.)"""

    def __init__(self, limit: int = MAX_TRACKED_CLIENTS, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        # each in the order of last failure (a failure moves its client to the end)
        self._under: OrderedDict[Key, deque[float]] = OrderedDict()
        self._over: OrderedDict[Key, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._under) + len(self._over)

    def _get(self, key: Key) -> deque[float] | None:
        found = self._under.get(key)
        return found if found is not None else self._over.get(key)

    def count(self, key: Key, now: float) -> int:
        """How many times ``key`` failed in the last ``window`` seconds."""
        times = self._get(key)
        if times is None:
            return 0
        while times and times[0] < now - self.window:
            times.popleft()
        if not times:
            self._under.pop(key, None)
            self._over.pop(key, None)
        return len(times)

    def add(self, key: Key, now: float, threshold: int) -> None:
        """Count a failure of ``key`` at ``now``; ``threshold``: where a client is throttled."""
        times = self._under.pop(key, None)
        if times is None:
            times = self._over.pop(key, None)
        if times is None:
            self._make_room(now)
            times = deque()
        times.append(now)
        while len(times) > max(1, threshold):
            times.popleft()
        (self._over if len(times) >= threshold else self._under)[key] = times

    def _make_room(self, now: float) -> None:
        if len(self) < self.limit:
            return
        for table in (self._under, self._over):  # the expired, from the least recent
            while table and next(iter(table.values()))[-1] < now - self.window:
                table.popitem(last=False)
        while len(self) >= self.limit:
            (self._under or self._over).popitem(last=False)


class Guard:
    """Checks tokens, issues, verifies and revokes sessions and CSRF tokens, throttles guessing."""

    def __init__(
        self,
        token: str,
        *,
        ttl: float = SESSION_TTL,
        max_failures: int = 10,
        trusted_proxies: Iterable[str] = (),
        store: Any = None,
        users: Mapping[str, str] | None = None,
    ) -> None:
        self.ttl = ttl
        self.max_failures = max_failures
        self.store = store
        self._failures = FailureLog()
        """Wrong tokens per (surface, client): times in the last minute."""
        self._revoked: dict[str, float] = {}
        """Revoked session nonces (from this process and, reloaded, from the store) -> expiry."""
        self._loaded_at = time.monotonic()
        self._loading = False
        self.trusted = networks(trusted_proxies)
        self.set_token(token)
        self.set_users(users or {})

    def set_token(self, token: str) -> None:
        """Switch to ``token``: the old one and every session signed under it stop working."""
        if not token:
            raise ValueError("the web app needs a non-empty token")
        self._token = token.encode()
        self._key = hashlib.sha256(b"prodshield-session\0" + self._token).digest()

    def set_users(self, users: Mapping[str, str]) -> None:
        """Named tokens (``serve.users``: name -> token); what is done with one carries its name."""
        self._users = [
            (name, secret.encode("utf-8", "surrogatepass"))
            for name, secret in users.items()
            if secret
        ]

    def set_trusted_proxies(self, items: Iterable[str]) -> None:
        self.trusted = networks(items)

    # --- the token -------------------------------------------------------------------------

    def token_ok(self, candidate: str | None) -> bool:
        return self.who(candidate) is not None

    def who(self, candidate: str | None) -> str | None:
        """The name of the token ``candidate`` is (``serve.token``: operator; ``serve.users``:
        its name), or None. Every token is compared, each in constant time."""
        if not candidate:
            return None
        raw = candidate.encode("utf-8", "surrogatepass")
        found = OPERATOR if hmac.compare_digest(raw, self._token) else None
        for name, secret in self._users:
            if hmac.compare_digest(raw, secret) and found is None:
                found = name
        return found

    def bearer(self, request: Request) -> str | None:
        """The bearer token the request carries, if it carries one."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

    def bearer_ok(self, request: Request) -> bool:
        return self.token_ok(self.bearer(request))

    def throttled(self, client: str, now: float | None = None, *, surface: str = TOKEN) -> bool:
        """Too many wrong tokens from one client on this surface (``TOKEN``: the operator's
        token; ``HEARTBEAT``: heartbeat URLs) in the last minute."""
        now = time.time() if now is None else now
        return self._failures.count((surface, client_key(client)), now) >= self.max_failures

    def failed(self, client: str, *, surface: str = TOKEN, now: float | None = None) -> None:
        """Count a wrong token from ``client`` (an IPv6 client: its /64) on ``surface``."""
        now = time.time() if now is None else now
        self._failures.add((surface, client_key(client)), now, self.max_failures)

    # --- who is asking ---------------------------------------------------------------------

    def client(self, request: Request) -> str:
        """The client's address: the peer, or behind trusted proxies the nearest address in
        ``X-Forwarded-For`` that is not one of them."""
        peer = request.client.host if request.client else "unknown"
        if not in_networks(peer, self.trusted):
            return peer
        forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
        for item in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            try:
                address = str(ipaddress.ip_address(item))
            except ValueError:
                return peer  # the proxy wrote something else: believe only the peer
            if not in_networks(address, self.trusted):
                return address
        return peer

    def https(self, request: Request) -> bool:
        """Whether the browser's connection is HTTPS (as a trusted proxy says, or our own)."""
        if request.url.scheme == "https":
            return True
        peer = request.client.host if request.client else ""
        if not in_networks(peer, self.trusted):
            return False
        proto = request.headers.get("x-forwarded-proto", "")
        return proto.rsplit(",", 1)[-1].strip().lower() == "https"

    # --- sessions --------------------------------------------------------------------------

    def _mac(self, *parts: str) -> str:
        data = "\0".join(parts).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def _holder(self, user: str) -> str | None:
        """What a session of ``user`` is also signed with: a digest of that user's token, so
        changing or removing it on reload ends the user's sessions (None: no such user now)."""
        if user == OPERATOR:
            return ""
        for name, secret in self._users:
            if name == user:
                return hashlib.sha256(b"prodshield-user\0" + secret).hexdigest()
        return None

    def new_session_cookie(self, now: float | None = None, user: str = OPERATOR) -> str:
        issued = f"{time.time() if now is None else now:.0f}"
        nonce = secrets.token_urlsafe(16)
        if user != OPERATOR:
            nonce = f"{user}~{nonce}"  # names are [A-Za-z0-9_-] (config): no "." nor "~"
        holder = self._holder(user)
        if holder is None:
            raise ValueError(f"no user named {user!r}")
        return f"{issued}.{nonce}.{self._mac('session', issued, nonce, holder)}"

    def session(self, request: Request) -> Session | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw or raw.count(".") != 2 or len(raw) > 256:
            return None
        issued, nonce, mac = raw.split(".")
        name, sep, _ = nonce.partition("~")
        holder = self._holder(name if sep and name else OPERATOR)
        if holder is None or not _same(mac, self._mac("session", issued, nonce, holder)):
            return None
        try:
            at = float(issued)
        except ValueError:
            return None
        if time.time() - at > self.ttl or self._is_revoked(nonce):
            return None
        return Session(nonce=nonce, issued=at, csrf=self._mac("csrf", nonce))

    def revoke(self, session: Session) -> None:
        """End ``session`` on the server (logout): its cookie no longer works anywhere. Blocks on
        the store: call it from a thread."""
        expires = session.issued + self.ttl
        self._revoked[session.nonce] = expires
        if self.store is not None:
            try:
                self.store.kv_set(REVOKED, session.nonce, expires)
            except Exception as exc:  # the store is down: this process still refuses it
                log.warning("logout not recorded in the store: %s", exc)

    def load_revoked(self) -> None:
        """Read the sessions revoked by any instance from the store and drop the expired ones.
        Blocks on the store: the app runs it at start and then in a thread every few seconds."""
        from sqlalchemy import delete, select

        from prodshield.store import tables as t

        if self.store is None:
            return
        now = time.time()
        kv = t.kv
        try:
            with self.store.connect() as conn:
                rows = conn.execute(
                    select(kv.c.key, kv.c.value).where(kv.c.namespace == REVOKED)
                ).all()
            stale = [
                key for key, until in rows if not isinstance(until, int | float) or until < now
            ]
            if stale:
                with self.store.begin() as conn:
                    conn.execute(delete(kv).where(kv.c.namespace == REVOKED, kv.c.key.in_(stale)))
        except Exception as exc:  # the store is down: keep what is known
            log.info("revoked sessions not reloaded: %s", exc)
            return
        for key, until in rows:
            if isinstance(until, int | float) and until >= now:
                self._revoked[str(key)] = float(until)
        for nonce in [n for n, until in self._revoked.items() if until < now]:
            del self._revoked[nonce]

    def _is_revoked(self, nonce: str) -> bool:
        due = time.monotonic() - self._loaded_at > REVOCATION_RECHECK
        if self.store is not None and not self._loading and due:
            # another instance's logouts, read in a thread: never on the event loop
            self._loading = True
            threading.Thread(target=self._reload, name="prodshield-revoked", daemon=True).start()
        return nonce in self._revoked

    def _reload(self) -> None:
        try:
            self.load_revoked()
        finally:
            self._loaded_at = time.monotonic()
            self._loading = False

    def csrf_ok(self, request: Request, session: Session, form_value: str | None = None) -> bool:
        candidate = form_value or request.headers.get("x-csrf-token") or ""
        return bool(candidate) and _same(candidate, session.csrf)

    # --- the login form's own CSRF (double submit, before any session exists) -------------------

    def login_csrf(self, request: Request) -> tuple[str, bool]:
        """The login form's CSRF value and whether the cookie must be (re)set."""
        current = request.cookies.get(LOGIN_CSRF_COOKIE)
        if current and 16 <= len(current) <= 64 and current.isascii():
            return current, False
        return secrets.token_urlsafe(16), True


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int, *, secure: bool
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/"
    )
