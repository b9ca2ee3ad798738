"""``type: tls``: a handshake to host:port with SNI, and the certificate's facts."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any, ClassVar

from prodshield.config.types import format_duration
from prodshield.monitor.certificate import certificate_facts
from prodshield.monitor.checks.base import Observation
from prodshield.monitor.placeholders import CERT_FACTS, PLACEHOLDERS
from prodshield.monitor.probe import Probe, tls_marks
from prodshield.monitor.result import CheckError
from prodshield.monitor.target import Target


class TlsCheck:
    type: ClassVar[str] = "tls"
    example: ClassVar[dict[str, Any]] = {
        "type": "tls",
        "host": "example.com",
        "conditions": ["[CERTIFICATE_EXPIRATION] > 14d"],
    }
    """A ``checks:`` entry of this type (without ``name``) that validates."""
    placeholders: ClassVar[frozenset[str]] = PLACEHOLDERS["tls"]
    default_conditions: ClassVar[tuple[str, ...]] = ("[CERTIFICATE_EXPIRATION] > 7d",)

    async def observe(self, target: Target, probe: Probe) -> Observation:
        cfg = target.check
        sni = cfg.servername or cfg.host
        obs = Observation(facts={"CONNECTED": False})
        t0 = time.perf_counter()
        deadline = t0 + target.timeout
        marks, error = await self._handshake(
            cfg, sni, probe.ssl_context(True, cfg.ca_file), deadline
        )
        chain_valid = error is None
        if marks.get("verify_failed"):
            # The certificate was refused: look at it anyway (unverified) so the conditions and
            # the message can say what is wrong with it.
            again, second_error = await self._handshake(
                cfg, sni, probe.ssl_context(False), deadline
            )
            if second_error is None:
                marks = again
            if cfg.verify_tls:
                obs.error = error
        elif error is not None:
            obs.error = error
        # the check's own time is the connection and handshake; reading the certificate after
        # it is bookkeeping, not the service's answer time
        end = time.perf_counter()
        ssl_object = marks.get("ssl_object")
        if ssl_object is not None:
            obs.facts["CONNECTED"] = True
            obs.facts.update(certificate_facts(ssl_object, sni, CERT_FACTS))
            obs.facts["CERTIFICATE_CHAIN_VALID"] = chain_valid
            if marks.get("ip"):
                obs.facts["IP"] = marks["ip"]
        start = marks.get("start", t0)
        obs.timings = {
            "connect": _ms(start, marks.get("tls_start")),
            "tls": _ms(marks.get("tls_start"), marks.get("tls_end")),
            "total": (end - t0) * 1000,
        }
        return obs

    @staticmethod
    async def _handshake(
        cfg: Any, sni: str, ctx: ssl.SSLContext, deadline: float
    ) -> tuple[dict[str, Any], CheckError | None]:
        marks: dict[str, Any] = {"start": time.perf_counter()}
        token = tls_marks.set(marks)
        writer = None
        remaining = max(0.05, deadline - time.perf_counter())
        try:
            async with asyncio.timeout(remaining):
                _, writer = await asyncio.open_connection(
                    cfg.host,
                    cfg.port,
                    ssl=ctx,
                    server_hostname=sni,
                    ssl_handshake_timeout=remaining,
                )
                peer = writer.get_extra_info("peername")
                if peer:
                    marks["ip"] = peer[0]
            return marks, None
        except Exception as exc:
            from prodshield.monitor.failures import classify

            err = classify(exc, remaining, cfg.host, cfg.port)
            if err.kind == "timeout":
                err = CheckError("timeout", f"no TLS handshake within {format_duration(remaining)}")
            if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(
                getattr(exc, "__cause__", None), ssl.SSLCertVerificationError
            ):
                marks["verify_failed"] = True
            return marks, err
        finally:
            tls_marks.reset(token)
            if writer is not None:
                writer.transport.abort()


def _ms(a: object, b: object) -> float | None:
    if isinstance(a, float) and isinstance(b, float) and b >= a:
        return (b - a) * 1000.0
    return None
