"""HTTP helpers the providers share: timeouts, Retry-After, and mapping answers to NotifyError."""

from __future__ import annotations

import email.utils
import errno
import html
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from prodshield.errors import NotifyError

if TYPE_CHECKING:
    import aiohttp

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

ErrorMapper = Callable[[str, int, Mapping[str, str], str], NotifyError]
"""(what, status, headers, body) -> the NotifyError for a non-2xx answer."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: either delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


_HTML_HIDDEN = re.compile(r"<(script|style|head)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_HTML_TAG = re.compile(r"<[^>]*>")


def short_body(text: str, limit: int = 200) -> str:
    """An answer's body on one bounded line; an HTML error page (a proxy's, a server's default
    501 page) as its text, without its markup."""
    if text.lstrip()[:1] == "<" and re.search(r"<(!doctype html|html|body)\b", text[:500], re.I):
        text = html.unescape(_HTML_TAG.sub(" ", _HTML_HIDDEN.sub(" ", text)))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_for_status(
    what: str,
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    retry_after: float | None = None,
) -> NotifyError:
    """The NotifyError for a non-2xx answer of a generic HTTP endpoint.

    408, 425, 429 and 5xx are retried (not sooner than ``retry_after``, else the answer's
    ``Retry-After``), but 501 (the receiver does not take a POST there: a wrong URL, retrying
    cannot help); 401 and 403 (credentials refused) and every other 4xx are permanent.
    """
    if retry_after is None:
        retry_after = parse_retry_after(headers.get("Retry-After"))
    detail = f"{what}: HTTP {status}"
    if body.strip():
        detail += f": {short_body(body)}"
    if status == 501:
        return NotifyError(detail + " (the URL does not take a POST: check it)", permanent=True)
    if status in RETRYABLE_STATUS or status >= 500:
        return NotifyError(detail, retry_after=retry_after)
    if status in (401, 403):
        detail += " (credentials refused: check the key or token)"
    return NotifyError(detail, permanent=True)


def network_error(what: str, exc: BaseException) -> NotifyError:
    """A retryable NotifyError for a connection failure or a timeout (no URL: it may hold keys)."""
    if isinstance(exc, TimeoutError):
        return NotifyError(f"{what}: timed out")
    return NotifyError(f"{what}: cannot connect: {connect_reason(exc)}")


_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused (nothing listens there)",
    errno.ECONNRESET: "connection reset by the receiver",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "timed out",
}


def connect_reason(exc: BaseException) -> str:
    """Why a connection failed, in words (``connection refused (nothing listens there)``, ``name
    not resolved``, ``TLS handshake failed``), not the library's class name and its repr."""
    name = type(exc).__name__
    if "DNS" in name:
        return "name not resolved"
    if "SSL" in name or "Certificate" in name:
        return "TLS handshake failed (certificate or protocol)"
    os_error = getattr(exc, "os_error", exc if isinstance(exc, OSError) else None)
    code = getattr(os_error, "errno", None)
    if code in _ERRNO_WORDS:
        return _ERRNO_WORDS[code]
    strerror = getattr(os_error, "strerror", None)
    return f"{name} ({strerror})" if strerror else name


async def post_json(
    session: aiohttp.ClientSession,
    what: str,
    url: str,
    data: bytes,
    *,
    headers: dict[str, str],
    timeout: float,
    errors: ErrorMapper | None = None,
) -> tuple[int, str]:
    """POST ``data`` and return (status, text) for a 2xx; raise NotifyError otherwise (made by
    ``errors`` when given, for providers whose answers say more than the status)."""
    import aiohttp  # here: building a notifier (to read its secrets) imports no aiohttp

    try:
        async with session.post(
            url, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as resp:
            text = await resp.text(errors="replace")
            if 200 <= resp.status < 300:
                return resp.status, text
            raise (errors or error_for_status)(what, resp.status, resp.headers, text)
    except NotifyError:
        raise
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise network_error(what, exc) from None


def json_or_text(text: str) -> Any:
    from prodshield.text import loads_json

    try:
        return loads_json(text, 64)
    except ValueError:
        return text
