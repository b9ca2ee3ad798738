"""Resources the checks of one run share: TLS contexts, HTTP sessions, the store.

Building a verifying TLS context loads the CA bundle (milliseconds of CPU), so contexts are made once
per settings and reused; HTTP sessions close every connection after its request
(``force_close``), so each check still opens a new connection, as a real probe must.
"""

from __future__ import annotations

import importlib
import socket
import ssl
import time
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodshield import __version__
from prodshield.store import Store

if TYPE_CHECKING:
    import aiohttp

LAZY_MODULES = {"postgres": "psycopg"}
"""Driver modules a check type imports on first use, imported by :meth:`Probe.prepare` before
the round's timers start."""

CERTIFICATE_PARSER = "cryptography.x509"
"""What reading a certificate's facts imports on first use (~0.2-0.3 s of CPU on the loop: a TLS
check made every other check of its ``monitor once`` round measure 250-370 ms on loopback)."""

USER_AGENT = f"prodshield/{__version__} (+health check)"

# The handshake timing of the TLS connection being made in the current task (see _TimedSSLObject).
tls_marks: ContextVar[dict[str, Any] | None] = ContextVar("prodshield_tls_marks", default=None)


class _TimedSSLObject(ssl.SSLObject):
    """Records when the handshake starts (the TCP connection is up) and ends, for the task that
    opened the connection, and keeps itself so the certificate can be read later."""

    def do_handshake(self) -> None:
        marks = tls_marks.get()
        if marks is not None and "tls_start" not in marks:
            marks["tls_start"] = time.perf_counter()
        super().do_handshake()
        if marks is not None:
            marks["tls_end"] = time.perf_counter()
            marks["ssl_object"] = self


def _recording_resolver() -> aiohttp.abc.AbstractResolver:
    """The default (getaddrinfo) resolver, noting the addresses for ``[IP]`` (aiohttp is imported
    when a check first needs a session, not by every command that lists checks)."""
    import aiohttp

    class _RecordingResolver(aiohttp.ThreadedResolver):
        async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> Any:
            hosts = await super().resolve(host, port, family)  # type: ignore[arg-type]
            marks = tls_marks.get()
            if marks is not None and hosts:
                marks.setdefault("ip", hosts[0]["host"])
            return hosts

    return _RecordingResolver()


def _trace_config() -> aiohttp.TraceConfig:
    import aiohttp

    tc = aiohttp.TraceConfig()

    async def mark(name: str, ctx: Any) -> None:
        marks = ctx.trace_request_ctx
        if isinstance(marks, dict):
            marks.setdefault(name, time.perf_counter())

    async def dns_start(_s: Any, ctx: Any, _p: Any) -> None:
        await mark("dns_start", ctx)

    async def dns_end(_s: Any, ctx: Any, _p: Any) -> None:
        await mark("dns_end", ctx)

    async def conn_start(_s: Any, ctx: Any, _p: Any) -> None:
        await mark("conn_start", ctx)

    async def conn_end(_s: Any, ctx: Any, _p: Any) -> None:
        await mark("conn_end", ctx)

    tc.on_dns_resolvehost_start.append(dns_start)
    tc.on_dns_resolvehost_end.append(dns_end)
    tc.on_connection_create_start.append(conn_start)
    tc.on_connection_create_end.append(conn_end)
    return tc


class Probe:
    """Shared per run (``monitor once``) or per scheduler; close it when done."""

    def __init__(self, store: Store | None = None, *, base_dir: Path | None = None) -> None:
        self.store = store
        self.base_dir = base_dir
        self._contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
        self._sessions: dict[tuple[Any, ...], aiohttp.ClientSession] = {}
        self._trace = _trace_config()

    def path(self, p: str | None) -> str | None:
        if p is None:
            return None
        q = Path(p).expanduser()
        if not q.is_absolute() and self.base_dir is not None:
            q = self.base_dir / q
        return str(q)

    def ssl_context(
        self,
        verify: bool = True,
        ca_file: str | None = None,
        cert: str | None = None,
        key: str | None = None,
    ) -> ssl.SSLContext:
        """A client TLS context (cached); raises ``OSError``/``ssl.SSLError`` for unreadable files."""
        ident = (verify, ca_file, cert, key)
        ctx = self._contexts.get(ident)
        if ctx is None:
            if verify:
                ctx = ssl.create_default_context(cafile=self.path(ca_file))
            else:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if cert:
                ctx.load_cert_chain(self.path(cert) or cert, self.path(key))
            ctx.sslobject_class = _TimedSSLObject
            self._contexts[ident] = ctx
        return ctx

    def http_session(
        self,
        *,
        verify: bool = True,
        ca_file: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        ip_version: int | None = None,
    ) -> aiohttp.ClientSession:
        ident = (verify, ca_file, cert, key, ip_version)
        session = self._sessions.get(ident)
        if session is None or session.closed:
            import aiohttp

            family = {4: socket.AF_INET, 6: socket.AF_INET6}.get(ip_version or 0, socket.AF_UNSPEC)
            connector = aiohttp.TCPConnector(
                ssl=self.ssl_context(verify, ca_file, cert, key),
                force_close=True,
                limit=0,
                family=family,
                use_dns_cache=False,
                resolver=_recording_resolver(),
            )
            session = aiohttp.ClientSession(
                connector=connector,
                trace_configs=[self._trace],
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": USER_AGENT},
            )
            self._sessions[ident] = session
        return session

    def prepare(self, targets: Any) -> None:
        """Build the TLS contexts and sessions targets will need before timing starts (loading a
        CA bundle blocks the loop for milliseconds), and the secret scanner a failure's message
        goes through (its first use imports and compiles for ~0.2 s, blocking the loop: one
        failing check made a loopback Redis check next to it measure 208 ms), and imports the
        drivers and certificate parser checks load on first use."""
        from prodshield.secrets.redaction import redact_text

        targets = list(targets)
        if targets:
            redact_text("warm up the secret scanner")
        for target in targets:
            cfg = target.check
            if target.type == "http":
                try:
                    self.http_session(
                        verify=cfg.verify_tls,
                        ca_file=cfg.ca_file,
                        cert=cfg.client_cert,
                        key=cfg.client_key,
                        ip_version=cfg.ip_version,
                    )
                except (OSError, ssl.SSLError):
                    pass  # reported by the check itself
            elif target.type == "tls":
                try:
                    self.ssl_context(True, cfg.ca_file)
                    self.ssl_context(False)
                except (OSError, ssl.SSLError):
                    pass
        # a first import blocks the loop for 0.1-0.3 s: done here, it inflates no other check's
        # response time measured in the same round
        for module in sorted({m for t in targets for m in _lazy_imports(t)}):
            importlib.import_module(module)

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def __aenter__(self) -> Probe:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _lazy_imports(target: Any) -> list[str]:
    """The modules ``target``'s check imports on first use."""
    out = [LAZY_MODULES[target.type]] if target.type in LAZY_MODULES else []
    if target.type == "tls" or any(u.startswith("CERTIFICATE_") for u in target.uses):
        out.append(CERTIFICATE_PARSER)
    return out
