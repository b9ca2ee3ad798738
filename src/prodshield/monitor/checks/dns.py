"""``type: dns``: one query (A/AAAA/CNAME/MX/TXT/NS) to the given or the system resolver.

Queries go out with dnspython's asyncio transport, so a slow resolver never blocks the loop.
``[DNS_RCODE]`` is the answer code; ``[BODY]`` the first answer; ``[ANSWERS]`` all of them.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from prodshield.config.types import format_duration
from prodshield.monitor.checks.base import Observation
from prodshield.monitor.placeholders import PLACEHOLDERS
from prodshield.monitor.probe import Probe
from prodshield.monitor.target import Target


def resolver_address(spec: str | None) -> tuple[str, int]:
    """``1.2.3.4``, ``1.2.3.4:5353``, ``[::1]:53`` or the first system nameserver."""
    import dns.resolver

    if not spec:
        try:
            servers = dns.resolver.Resolver().nameservers
        except dns.resolver.NoResolverConfiguration:
            servers = []
        if not servers:
            return "127.0.0.1", 53
        return str(servers[0]), 53
    spec = spec.strip()
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]")
        return host, int(port.lstrip(":") or 53)
    if spec.count(":") == 1:
        host, port = spec.split(":")
        return host, int(port)
    return spec, 53


def _answer_text(rdata: Any) -> str:
    import dns.rdatatype

    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if rdata.rdtype == dns.rdatatype.MX:
        return str(rdata.exchange).rstrip(".")
    if rdata.rdtype in (dns.rdatatype.CNAME, dns.rdatatype.NS):
        return str(rdata.target).rstrip(".")
    return str(rdata.to_text())


class DnsCheck:
    type: ClassVar[str] = "dns"
    example: ClassVar[dict[str, Any]] = {
        "type": "dns",
        "query": "example.com",
        "record": "A",
        "conditions": ["[DNS_RCODE] == NOERROR"],
    }
    """A ``checks:`` entry of this type (without ``name``) that validates."""
    placeholders: ClassVar[frozenset[str]] = PLACEHOLDERS["dns"]
    default_conditions: ClassVar[tuple[str, ...]] = ()  # a non-NOERROR rcode is a "dns" error

    async def observe(self, target: Target, probe: Probe) -> Observation:
        # dnspython is imported on first use (it is large and most configs have few DNS checks).
        import dns.asyncquery
        import dns.exception
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rdatatype

        cfg = target.check
        obs = Observation(facts={"CONNECTED": False})
        t0 = time.perf_counter()
        try:
            host, port = resolver_address(cfg.resolver)
        except ValueError:
            return obs.fail("protocol", f"resolver {cfg.resolver!r} is not host or host:port")
        obs.facts["IP"] = host
        query = dns.message.make_query(cfg.query, dns.rdatatype.from_text(cfg.record))
        try:
            response = await dns.asyncquery.udp(query, host, timeout=target.timeout, port=port)
            if response.flags & dns.flags.TC:
                remaining = max(0.1, target.timeout - (time.perf_counter() - t0))
                response = await dns.asyncquery.tcp(query, host, timeout=remaining, port=port)
        except dns.exception.Timeout:
            obs.fail(
                "timeout", f"no answer from {host}:{port} within {format_duration(target.timeout)}"
            )
        except (dns.message.ShortHeader, dns.message.TrailingJunk, dns.exception.FormError) as exc:
            obs.fail("protocol", f"malformed DNS answer from {host}:{port}: {type(exc).__name__}")
        except dns.exception.DNSException as exc:
            obs.fail("protocol", f"DNS: {exc}"[:300])
        except Exception as exc:
            from prodshield.monitor.failures import classify

            obs.error = classify(exc, target.timeout)
        else:
            obs.facts["CONNECTED"] = True
            rcode = dns.rcode.to_text(response.rcode())
            wanted = dns.rdatatype.from_text(cfg.record)
            answers = [
                _answer_text(rd)
                for rrset in response.answer
                if rrset.rdtype == wanted
                for rd in rrset
            ]
            obs.facts["DNS_RCODE"] = rcode
            obs.facts["ANSWERS"] = answers
            obs.facts["BODY"] = answers[0] if answers else ""
            obs.details["answers"] = answers
            if rcode != "NOERROR" and "DNS_RCODE" not in target.uses:
                obs.fail("dns", f"{cfg.query} {cfg.record}: {rcode} from {host}:{port}")
        obs.timings = {"total": (time.perf_counter() - t0) * 1000}
        return obs
