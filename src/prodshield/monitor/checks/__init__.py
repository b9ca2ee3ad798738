"""Check types: one module per ``type:``, each implementing :class:`Check` (see ``base.py``)."""

from __future__ import annotations

from functools import cache

from prodshield.monitor.checks.base import Check, Observation


@cache
def registry() -> dict[str, Check]:
    """``type:`` -> check type. Adding a check type is adding a module and a line here."""
    from prodshield.monitor.checks.dns import DnsCheck
    from prodshield.monitor.checks.heartbeat import HeartbeatCheck
    from prodshield.monitor.checks.http import HttpCheck
    from prodshield.monitor.checks.postgres import PostgresCheck
    from prodshield.monitor.checks.redis import RedisCheck
    from prodshield.monitor.checks.sequence import SequenceCheck
    from prodshield.monitor.checks.tcp import TcpCheck
    from prodshield.monitor.checks.tls import TlsCheck

    members: list[Check] = [
        HttpCheck(),
        TcpCheck(),
        TlsCheck(),
        DnsCheck(),
        PostgresCheck(),
        RedisCheck(),
        HeartbeatCheck(),
        SequenceCheck(),
    ]
    return {m.type: m for m in members}


__all__ = ["Check", "Observation", "registry"]
