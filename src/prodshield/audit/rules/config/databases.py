"""Database server configs: ``pg_hba.conf`` and ``redis.conf``."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc
from prodshield.audit.finding import Severity
from prodshield.audit.rules.base import Hit, Sample
from prodshield.audit.rules.config.base import ConfigRule

_HBA = (
    "# TYPE  DATABASE  USER  ADDRESS  METHOD\n"
    "local   all       postgres          peer\n"
    "hostssl shop      shop  10.0.0.0/8  scram-sha-256\n"
)


def _hba(old: str, new: str) -> Sample:
    assert old in _HBA
    return Sample("postgres/pg_hba.conf", _HBA.replace(old, new))


def _host_lines(doc: ConfigDoc) -> Iterable[tuple[int, list[str]]]:
    for d in doc.directives:
        if d.name in ("host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"):
            yield d.line, d.args


class PgHbaTrust(ConfigRule):
    type = "config.pghba-trust"
    severity = Severity.CRITICAL
    title = "pg_hba.conf trusts network connections without a password"
    fix = "Use scram-sha-256 (and hostssl) for every host line."
    kinds = frozenset({"pghba"})
    vulnerable = _hba("scram-sha-256", "trust")
    fixed = _hba("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for line, args in _host_lines(subject):
            if (len(args) >= 4 and args[3] == "trust") or (len(args) >= 5 and args[4] == "trust"):
                yield Hit("host line with method trust: no password needed", line, key=str(line))


def _wide(address: str) -> bool:
    if address in ("all", "0.0.0.0/0", "::/0", "*"):
        return True
    try:
        return ipaddress.ip_network(address, strict=False).prefixlen == 0
    except ValueError:
        return False


class PgHbaOpenToWorld(ConfigRule):
    type = "config.pghba-open-to-world"
    severity = Severity.HIGH
    title = "pg_hba.conf accepts connections from any address"
    fix = "Restrict ADDRESS to the application's network (e.g. 10.0.0.0/8)."
    kinds = frozenset({"pghba"})
    vulnerable = _hba("10.0.0.0/8", "0.0.0.0/0")
    fixed = _hba("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for line, args in _host_lines(subject):
            if len(args) >= 4 and _wide(args[2]) and args[3] != "reject":
                yield Hit(f"host line open to {args[2]}", line, key=str(line))


_REDIS = "bind 127.0.0.1 -::1\nprotected-mode yes\nport 6379\naclfile /etc/redis/users.acl\n"


def _redis(old: str, new: str) -> Sample:
    assert old in _REDIS
    return Sample("redis/redis.conf", _REDIS.replace(old, new))


def _redis_values(doc: ConfigDoc) -> dict[str, tuple[list[str], int]]:
    return {d.name: (d.args, d.line) for d in doc.directives}


class RedisNoPassword(ConfigRule):
    type = "config.redis-no-password"
    severity = Severity.HIGH
    title = "Redis has no password (no requirepass or ACL file)"
    fix = "Set requirepass (from a secret) or configure ACL users with aclfile."
    kinds = frozenset({"redis"})
    vulnerable = _redis("aclfile /etc/redis/users.acl\n", "")
    fixed = _redis("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        values = _redis_values(subject)
        users = [
            d
            for d in subject.directives
            if d.name == "user" and any(a.startswith((">", "#")) for a in d.args)
        ]
        if "requirepass" in values and values["requirepass"][0] and values["requirepass"][0][0]:
            return
        if "aclfile" in values or users:
            return
        yield Hit(
            "no requirepass and no ACL users: anyone who reaches the port is admin",
            1,
            key="requirepass",
        )


class RedisProtectedModeOff(ConfigRule):
    type = "config.redis-protected-mode-off"
    severity = Severity.CRITICAL
    title = "Redis protected-mode off while bound to a public interface"
    fix = "protected-mode yes, and bind 127.0.0.1 (or the private interface)."
    kinds = frozenset({"redis"})
    vulnerable = _redis(
        "bind 127.0.0.1 -::1\nprotected-mode yes", "bind 0.0.0.0\nprotected-mode no"
    )
    fixed = _redis("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        values = _redis_values(subject)
        mode = values.get("protected-mode")
        if not mode or not mode[0] or mode[0][0].lower() != "no":
            return
        bind = values.get("bind")
        addrs = [a.lstrip("-") for a in bind[0]] if bind else ["*"]
        public = [a for a in addrs if a in ("0.0.0.0", "*", "::", "::*") or not _loopback(a)]
        if public:
            yield Hit(f"protected-mode no with bind {' '.join(addrs)}", mode[1], key="protected")


def _loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return addr == "localhost"


RULES = (PgHbaTrust(), PgHbaOpenToWorld(), RedisNoPassword(), RedisProtectedModeOff())
