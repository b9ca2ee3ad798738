"""Who may do what: the login token, session cookies, CSRF tokens and the security headers.

- The token is compared in constant time (``hmac.compare_digest``).
- A session cookie is ``issued.nonce.mac`` signed with a key derived from the token, so sessions
  survive restarts, are shared by several instances, and die when the token changes. It is
  ``HttpOnly``, ``SameSite=Strict`` and ``Secure`` whenever the request came over HTTPS.
- Every state-changing request needs either ``Authorization: Bearer <token>`` (not sent by
  browsers on their own, so no CSRF) or a session plus its CSRF token (form field ``csrf`` or
  header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "prodshield_session"
LOGIN_CSRF_COOKIE = "prodshield_login"
SESSION_TTL = 12 * 3600.0

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


@dataclass(frozen=True)
class Session:
    nonce: str
    issued: float
    csrf: str


class Guard:
    """Checks tokens, issues and verifies sessions and CSRF tokens."""

    def __init__(self, token: str, *, ttl: float = SESSION_TTL, max_failures: int = 10) -> None:
        if not token:
            raise ValueError("the web app needs a non-empty token")
        self._token = token.encode()
        self._key = hashlib.sha256(b"prodshield-session\0" + self._token).digest()
        self.ttl = ttl
        self.max_failures = max_failures
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    # --- the token -------------------------------------------------------------------------

    def token_ok(self, candidate: str | None) -> bool:
        if not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self._token)

    def bearer_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())

    def throttled(self, client: str, now: float | None = None) -> bool:
        """Too many wrong tokens from one client in the last minute."""
        now = time.time() if now is None else now
        window = self._failures[client]
        while window and window[0] < now - 60:
            window.popleft()
        return len(window) >= self.max_failures

    def failed(self, client: str) -> None:
        self._failures[client].append(time.time())

    # --- sessions --------------------------------------------------------------------------

    def _mac(self, *parts: str) -> str:
        return hmac.new(self._key, "\0".join(parts).encode(), hashlib.sha256).hexdigest()

    def new_session_cookie(self, now: float | None = None) -> str:
        issued = f"{time.time() if now is None else now:.0f}"
        nonce = secrets.token_urlsafe(16)
        return f"{issued}.{nonce}.{self._mac('session', issued, nonce)}"

    def session(self, request: Request) -> Session | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw or raw.count(".") != 2:
            return None
        issued, nonce, mac = raw.split(".")
        if not hmac.compare_digest(mac, self._mac("session", issued, nonce)):
            return None
        try:
            at = float(issued)
        except ValueError:
            return None
        if time.time() - at > self.ttl:
            return None
        return Session(nonce=nonce, issued=at, csrf=self._mac("csrf", nonce))

    def csrf_ok(self, request: Request, session: Session, form_value: str | None = None) -> bool:
        candidate = form_value or request.headers.get("x-csrf-token") or ""
        return bool(candidate) and hmac.compare_digest(candidate, session.csrf)

    # --- the login form's own CSRF (double submit, before any session exists) -------------------

    def login_csrf(self, request: Request) -> tuple[str, bool]:
        """The login form's CSRF value and whether the cookie must be (re)set."""
        current = request.cookies.get(LOGIN_CSRF_COOKIE)
        if current and len(current) >= 16:
            return current, False
        return secrets.token_urlsafe(16), True


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def client_id(request: Request) -> str:
    return request.client.host if request.client else "unknown"
