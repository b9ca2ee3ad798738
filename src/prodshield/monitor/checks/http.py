"""``type: http``: one request on a new connection, phase timings, the body read to its end
(an answer that does not complete within the timeout fails) and kept, when a condition needs
``[BODY]``, at most to ``max_body``."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
from typing import TYPE_CHECKING, Any, ClassVar

from yarl import URL

from prodshield.config.types import format_duration
from prodshield.monitor.certificate import certificate_facts
from prodshield.monitor.checks.base import Observation
from prodshield.monitor.placeholders import PLACEHOLDERS
from prodshield.monitor.probe import Probe, tls_marks
from prodshield.monitor.target import Target

if TYPE_CHECKING:
    import aiohttp

_CHUNK = 64 * 1024


def _size(n: int) -> str:
    for unit, size in (("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"


class HttpCheck:
    type: ClassVar[str] = "http"
    example: ClassVar[dict[str, Any]] = {
        "type": "http",
        "url": "https://example.com/health",
        "conditions": ["[STATUS] == 200"],
    }
    """A ``checks:`` entry of this type (without ``name``) that validates."""
    placeholders: ClassVar[frozenset[str]] = PLACEHOLDERS["http"]
    default_conditions: ClassVar[tuple[str, ...]] = ("[STATUS] < 400",)

    async def observe(self, target: Target, probe: Probe) -> Observation:
        import aiohttp  # here, not at import: `monitor status` lists checks and runs none

        from prodshield.monitor.failures import classify

        cfg = target.check
        obs = Observation()
        marks: dict[str, object] = {}
        token = tls_marks.set(marks)
        t0 = time.perf_counter()
        first_byte: float | None = None  # kept when the body then fails: the server did answer
        url = URL(cfg.url)
        try:
            if url.scheme not in ("http", "https") or not url.host:
                return obs.fail("protocol", f"not an http(s) URL: {cfg.url}")
            try:
                session = probe.http_session(
                    verify=cfg.verify_tls,
                    ca_file=cfg.ca_file,
                    cert=cfg.client_cert,
                    key=cfg.client_key,
                    ip_version=cfg.ip_version,
                )
            except (OSError, ssl.SSLError) as exc:
                return obs.fail("tls", f"cannot load the TLS files (ca_file/client_cert): {exc}")
            async with asyncio.timeout(target.timeout):
                async with session.request(
                    cfg.method,
                    url,
                    headers=cfg.headers or None,
                    data=cfg.body.encode() if cfg.body is not None else None,
                    allow_redirects=cfg.follow_redirects,
                    max_redirects=cfg.max_redirects,
                    trace_request_ctx=marks,
                    timeout=aiohttp.ClientTimeout(total=target.timeout),
                ) as resp:
                    first_byte = time.perf_counter()
                    obs.facts["STATUS"] = resp.status
                    obs.facts["CONNECTED"] = True
                    if "HEADER" in target.uses:
                        obs.facts["HEADER"] = {k.lower(): v for k, v in resp.headers.items()}
                    if "IP" in target.uses:
                        ip = marks.get("ip") or _literal_ip(url.host)
                        if ip:
                            obs.facts["IP"] = ip
                    if len(resp.history):
                        obs.details["redirects"] = len(resp.history)
                    if "BODY" in target.uses:
                        body, truncated = await self._read_body(resp, cfg.max_body)
                        obs.facts["BODY"] = body
                    else:
                        # No condition reads the body, but the answer must still complete within
                        # the timeout (a body that stalls or breaks is a failure, as in curl or
                        # Upptime): read it to its end, keeping nothing; past max_body the
                        # server has shown it answers, so stop there (not a failure) and drop
                        # the connection rather than download the rest.
                        truncated = False
                        await self._drain_body(resp, cfg.max_body)
            end = time.perf_counter()
            if truncated:
                obs.details["body_truncated_at"] = cfg.max_body
                obs.fail(
                    "protocol",
                    f"body larger than max_body ({_size(cfg.max_body)}): cut there, not read whole",
                )
        except Exception as exc:  # every failure of a bad target becomes a result
            obs.facts.setdefault("CONNECTED", "conn_end" in marks or "tls_start" in marks)
            obs.error = classify(exc, target.timeout, url.host, url.port)
            if obs.error.kind == "timeout":
                obs.error = obs.error.__class__(
                    "timeout", f"no complete answer within {format_duration(target.timeout)}"
                )
            end = time.perf_counter()
        finally:
            tls_marks.reset(token)
        ssl_object = marks.get("ssl_object")
        if ssl_object is not None and url.host:
            obs.facts.update(certificate_facts(ssl_object, url.host, target.uses))  # type: ignore[arg-type]
        obs.timings = _phases(marks, t0, first_byte, end)
        return obs

    @staticmethod
    async def _drain_body(resp: aiohttp.ClientResponse, limit: int) -> None:
        """Read the body to its end, or to ``limit`` bytes, keeping none of it; raises what a
        stalled (the caller's timeout) or broken body raises."""
        size = 0
        while size <= limit:
            chunk = await resp.content.read(_CHUNK)
            if not chunk:
                return
            size += len(chunk)
        resp.close()  # far over max_body: seen enough of it, not worth downloading

    @staticmethod
    async def _read_body(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
        """Stream the body up to ``limit`` bytes; a larger body is cut, never read whole."""
        parts: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = await resp.content.read(min(_CHUNK, limit + 1 - size))
            if not chunk:
                return b"".join(parts), False
            parts.append(chunk)
            size += len(chunk)
        resp.close()  # drop the connection instead of draining the rest
        return b"".join(parts)[:limit], True


def _ms(a: object, b: object) -> float | None:
    if isinstance(a, float) and isinstance(b, float) and b >= a:
        return (b - a) * 1000.0
    return None


def _phases(
    marks: dict[str, object], t0: float, first_byte: float | None, end: float
) -> dict[str, float | None]:
    dns = _ms(marks.get("dns_start"), marks.get("dns_end"))
    connected_from = marks.get("dns_end") or marks.get("conn_start")
    tls_start = marks.get("tls_start")
    if tls_start is not None:
        connect = _ms(connected_from, tls_start)
        tls = _ms(tls_start, marks.get("tls_end"))
    else:
        connect = _ms(connected_from, marks.get("conn_end"))
        tls = None
    return {
        "dns": dns,
        "connect": connect,
        "tls": tls,
        "first_byte": _ms(t0, first_byte),
        "total": _ms(t0, end),
    }


def _literal_ip(host: str | None) -> str | None:
    if not host:
        return None
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None
