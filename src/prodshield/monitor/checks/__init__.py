"""Check types: one module per ``type:``, each implementing :class:`Check` (see ``base.py``)."""

from __future__ import annotations

from prodshield.monitor.checks.base import Check, Observation
from prodshield.monitor.checks.dns import DnsCheck
from prodshield.monitor.checks.heartbeat import HeartbeatCheck
from prodshield.monitor.checks.http import HttpCheck
from prodshield.monitor.checks.postgres import PostgresCheck
from prodshield.monitor.checks.redis import RedisCheck
from prodshield.monitor.checks.sequence import SequenceCheck
from prodshield.monitor.checks.tcp import TcpCheck
from prodshield.monitor.checks.tls import TlsCheck

REGISTRY: dict[str, Check] = {
    m.type: m
    for m in (
        HttpCheck(),
        TcpCheck(),
        TlsCheck(),
        DnsCheck(),
        PostgresCheck(),
        RedisCheck(),
        HeartbeatCheck(),
        SequenceCheck(),
    )
}
"""``type:`` -> check type. Adding a check type is adding a module and a line here."""

__all__ = ["REGISTRY", "Check", "Observation"]
