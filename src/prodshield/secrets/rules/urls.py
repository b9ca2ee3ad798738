"""URLs with an embedded password: database DSNs and basic-auth URLs (``scheme://user:pass@host``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from prodshield.secrets.filters import has_placeholder_word, is_masked, is_reference
from prodshield.secrets.finding import Severity
from prodshield.secrets.rules.base import Candidate, LineContext

_URL = re.compile(
    r"(?<![\w+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{1,30})://"
    r"(?P<user>[^\s:/@\"'<>`]{0,128}):(?P<value>[^\s/@\"'<>`]{1,256})@(?P<host>[A-Za-z0-9\[][^\s/\"'<>`:?#@]*)"
)
_DB_SCHEMES = (
    "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss",
    "amqp", "amqps", "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse", "jdbc",
    "couchdb", "neo4j", "cassandra", "memcached", "ldap", "ldaps", "sqlalchemy", "db2",
)  # fmt: skip
_PLACEHOLDER_PASSWORDS = frozenset({"pass", "pwd", "passwd", "x", "xxx", "secret", "password"})


def _is_db(scheme: str) -> bool:
    scheme = scheme.lower()
    return any(
        scheme == s or scheme.startswith(s + "+") or scheme.startswith(s + ":") for s in _DB_SCHEMES
    )


@dataclass(frozen=True)
class UrlPasswordRule:
    type: str = "url-password"
    example: ClassVar[dict[str, str]] = {
        "text": "DATABASE_URL=postgres://app:EjqhnI2123!@db.internal:5432/app"  # prodshield:allow (a rule sample)
    }
    kind: str = "basic_auth_url"
    severity: Severity = "high"
    # ``find`` needs "://" (an "@" alone is every e-mail address and ``user@host`` in a log)
    keywords: tuple[str, ...] = ("://",)
    # hyperscan wakes `find` only where "://" is followed by userinfo with a ":" and an "@" (a
    # superset of `_URL`): a plain URL (every access log's referrer) is not a candidate line.
    prefilter_patterns: tuple[tuple[str, str], ...] = (
        ("://", r"://[^\s/@\"'<>`]*:[^\s/@\"'<>`]*@"),
    )
    description: str = "URL with an embedded password (database DSN or basic-auth URL)"

    def find(self, ctx: LineContext) -> Iterator[Candidate]:
        if "://" not in ctx.line or "@" not in ctx.line:
            return
        for match in _URL.finditer(ctx.line):
            password = match.group("value")
            if (
                password.lower() in _PLACEHOLDER_PASSWORDS
                or is_reference(password)
                or is_masked(password)
                or has_placeholder_word(password)
                or password.startswith(("$", "%", "{", "<"))
                or (password.isalpha() and password.islower() and len(password) < 12)
            ):  # a lowercase dictionary word (scott:tiger) is a documentation stand-in
                continue
            kind = "db_url_password" if _is_db(match.group("scheme")) else "basic_auth_url"
            yield Candidate(match.start("value"), match.end("value"), password, 0.9, kind=kind)


RULES = (UrlPasswordRule(),)
