"""Map the exceptions a probe can meet to the fixed list of error kinds, with a one-line message."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import aiohttp

from prodshield.monitor.result import CheckError

_RESET_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}
_REFUSED_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


def _first_line(text: str) -> str:
    text = text.strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 300 else line[:297] + "..."


def refused(where: str) -> CheckError:
    """The one wording of a refused connection, whatever the check type: ``connection refused by
    HOST:PORT``."""
    return CheckError("refused", f"connection refused by {where}")


def reset(where: str) -> CheckError:
    """The one wording of a connection the peer reset (or dropped mid-exchange), whatever the
    check type: ``connection reset by HOST:PORT``."""
    return CheckError("reset", f"connection reset by {where}")


def closed(where: str) -> CheckError:
    """The one wording of a connection the server closed before its answer was complete
    (nothing, half a reply, a body cut short), whatever the check type: ``connection closed by
    HOST:PORT before a complete answer``."""
    return CheckError("reset", f"connection closed by {where} before a complete answer")


def endpoint(host: str | None, port: int | None) -> str:
    """``HOST:PORT`` (``[v6]:PORT``) as the errors name a target; ``the server`` when unknown."""
    if not host:
        return "the server"
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{shown}:{port}" if port is not None else shown


def classify(
    exc: BaseException,
    timeout: float | None = None,
    host: str | None = None,
    port: int | None = None,
) -> CheckError:
    """The error kind and message for ``exc`` (never raises); ``host`` and ``port`` name the
    target (a refused, reset or early-closed connection says ``by HOST:PORT`` in every check
    type).

    Asked in order: redirect loops, timeouts and TLS, then name resolution and connecting, then HTTP answers,
    then the socket; anything else is a protocol error."""
    where = endpoint(host, port)
    for step in (_timeout_or_tls, _resolving_or_connecting, _http_answer, _socket):
        found = step(exc, timeout, host, where)
        if found is not None:
            return found
    return CheckError("protocol", _first_line(f"{type(exc).__name__}: {exc}"))


def _timeout_or_tls(
    exc: BaseException, timeout: float | None, host: str | None, where: str
) -> CheckError | None:
    after = f" after {timeout:g}s" if timeout is not None else ""
    if isinstance(exc, aiohttp.TooManyRedirects):
        return CheckError("protocol", f"too many redirects (more than {len(exc.history)})")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | aiohttp.ServerTimeoutError):
        return CheckError("timeout", f"no complete answer{after}")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return CheckError("tls", _first_line(f"certificate: {exc.certificate_error}"))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return CheckError("tls", _first_line(f"certificate: {exc.verify_message or exc}"))
    if isinstance(exc, aiohttp.ClientSSLError):
        return CheckError("tls", _first_line(f"TLS: {exc}"))
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        return CheckError("tls", _first_line(f"TLS: {reason}"))
    return None


def _resolving_or_connecting(
    exc: BaseException, timeout: float | None, host: str | None, where: str
) -> CheckError | None:
    dns_error = getattr(aiohttp, "ClientConnectorDNSError", None)
    if dns_error is not None and isinstance(exc, dns_error):
        return CheckError("dns", _first_line(f"cannot resolve {exc.host}: {exc.os_error}"))
    if isinstance(exc, socket.gaierror):
        return CheckError("dns", _first_line(f"cannot resolve {host or 'the host'}: {exc}"))
    if isinstance(exc, aiohttp.ClientConnectorError):
        inner = exc.os_error
        if isinstance(inner, socket.gaierror):
            return CheckError("dns", _first_line(f"cannot resolve {exc.host}: {inner}"))
        if isinstance(inner, ssl.SSLError):
            return classify(inner, timeout, host, exc.port)
        if isinstance(inner, ConnectionRefusedError) or inner.errno in _REFUSED_ERRNOS:
            return refused(endpoint(exc.host, exc.port))
        if inner.errno in _RESET_ERRNOS:
            return reset(endpoint(exc.host, exc.port))
        return CheckError(
            "refused", _first_line(f"cannot connect to {exc.host}:{exc.port}: {inner}")
        )
    return None


def _http_answer(
    exc: BaseException, timeout: float | None, host: str | None, where: str
) -> CheckError | None:
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return closed(where)
    if isinstance(exc, aiohttp.ClientPayloadError):
        text = str(exc)
        if "reset" in text.lower():
            return reset(where)
        if "not completed" in text.lower():
            return closed(where)  # the body cut short
        return CheckError("protocol", _first_line(f"malformed body: {text}"))
    if isinstance(exc, aiohttp.ClientResponseError):
        return CheckError("protocol", _first_line(f"malformed response: {exc.message}"))
    if isinstance(exc, aiohttp.ClientOSError):
        if exc.errno in _RESET_ERRNOS:
            return reset(where)
        if exc.errno in _REFUSED_ERRNOS:
            return refused(where)
        return CheckError("reset", _first_line(str(exc)))
    return None


def _socket(
    exc: BaseException, timeout: float | None, host: str | None, where: str
) -> CheckError | None:
    if isinstance(exc, ConnectionRefusedError):
        return refused(where)
    if isinstance(exc, ConnectionResetError) and exc.errno is None:
        return closed(where)  # asyncio's "connection lost" (a TLS handshake the server ended)
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return reset(where)
    if isinstance(exc, asyncio.IncompleteReadError):
        return closed(where)
    if isinstance(exc, aiohttp.InvalidURL):
        return CheckError("protocol", f"invalid URL {exc.url}")
    if isinstance(exc, OSError):
        if exc.errno in _REFUSED_ERRNOS:
            return refused(where)
        if exc.errno in _RESET_ERRNOS:
            return reset(where)
        return CheckError("refused", _first_line(f"{type(exc).__name__}: {exc}"))
    if isinstance(exc, aiohttp.ClientError):
        return CheckError("protocol", _first_line(f"{type(exc).__name__}: {exc}"))
    return None
