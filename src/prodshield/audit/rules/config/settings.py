"""Settings every format shares: YAML/JSON/TOML/INI/.env keys, env vars, DSNs in any string."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc, falsy, norm_key, truthy
from prodshield.audit.finding import Severity
from prodshield.audit.rules.base import Hit, Sample
from prodshield.audit.rules.config.base import ALL_KINDS, DATA_KINDS, ConfigRule

DEBUG_KEYS = {"debug", "debugmode", "appdebug", "djangodebug"}


class DebugEnabled(ConfigRule):
    type = "config.debug-enabled"
    severity = Severity.MEDIUM
    title = "Debug mode enabled in a config file"
    fix = "Set debug to false for production (or drop the key)."
    kinds = DATA_KINDS
    vulnerable = Sample("config/production.yaml", "app:\n  name: shop\n  debug: true\n")
    fixed = Sample("config/production.yaml", "app:\n  name: shop\n  debug: false\n")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for key, value, line in subject.settings():
            if norm_key(key) in DEBUG_KEYS and truthy(value):
                yield Hit(f"{key} = {value!s}", line, key=f"{key}:{line}")


class FlaskDebugEnv(ConfigRule):
    type = "config.flask-debug-env"
    severity = Severity.HIGH
    title = "FLASK_DEBUG / FLASK_ENV=development set"
    fix = "Remove FLASK_DEBUG=1 and FLASK_ENV=development from production environments."
    kinds = DATA_KINDS | {"dockerfile"}
    vulnerable = Sample(".env.production", "FLASK_APP=shop\nFLASK_DEBUG=1\n")
    fixed = Sample(".env.production", "FLASK_APP=shop\nFLASK_DEBUG=0\n")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for name, value, line in subject.env_vars():
            if name == "FLASK_DEBUG" and truthy(value):
                yield Hit("FLASK_DEBUG=1 enables the interactive debugger", line, key=name)
            elif name == "FLASK_ENV" and value.strip("'\"") == "development":
                yield Hit("FLASK_ENV=development enables the debugger", line, key=name)


VERIFY_OFF_KEYS = {
    "sslverify",
    "verifyssl",
    "tlsverify",
    "verifytls",
    "sslverification",
    "verifycerts",
    "verifycertificate",
    "verify",
    "sslcertverification",
}
SKIP_ON_KEYS = {
    "insecureskipverify",
    "skiptlsverify",
    "tlsskipverify",
    "sslnoverify",
    "tlsinsecure",
    "insecuretls",
    "skipverify",
    "sslinsecure",
}


class TlsVerifyDisabled(ConfigRule):
    type = "config.tls-verify-disabled"
    severity = Severity.HIGH
    title = "TLS verification disabled in a config file"
    fix = "Turn verification back on; point at the CA bundle (ca_file) for a private PKI."
    kinds = DATA_KINDS
    vulnerable = Sample(
        "config/clients.yaml", "payments:\n  url: https://pay.internal\n  ssl_verify: false\n"
    )
    fixed = Sample(
        "config/clients.yaml",
        "payments:\n  url: https://pay.internal\n  ssl_verify: true\n  ca_file: /etc/ssl/ca.pem\n",
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for key, value, line in subject.settings():
            k = norm_key(key)
            if (k in VERIFY_OFF_KEYS and falsy(value)) or (k in SKIP_ON_KEYS and truthy(value)):
                yield Hit(f"{key}: {value!s}", line, key=f"{key}:{line}")


class _EnvFlagRule(ConfigRule):
    var = ""
    bad = ""

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for name, value, line in subject.env_vars():
            if name == self.var and value.strip().strip("'\"") == self.bad:
                yield Hit(f"{name}={self.bad} turns certificate verification off", line, key=name)


class NodeTlsRejectUnauthorized(_EnvFlagRule):
    type = "config.node-tls-reject-unauthorized"
    severity = Severity.HIGH
    title = "NODE_TLS_REJECT_UNAUTHORIZED=0"
    fix = "Remove NODE_TLS_REJECT_UNAUTHORIZED; use NODE_EXTRA_CA_CERTS for a private CA."
    var, bad = "NODE_TLS_REJECT_UNAUTHORIZED", "0"
    kinds = ALL_KINDS
    vulnerable = Sample(".env", "NODE_ENV=production\nNODE_TLS_REJECT_UNAUTHORIZED=0\n")
    fixed = Sample(".env", "NODE_ENV=production\nNODE_EXTRA_CA_CERTS=/etc/ssl/ca.pem\n")


class PythonHttpsVerifyOff(_EnvFlagRule):
    type = "config.pythonhttpsverify-off"
    severity = Severity.HIGH
    title = "PYTHONHTTPSVERIFY=0"
    fix = "Remove PYTHONHTTPSVERIFY=0; install the CA certificate instead."
    var, bad = "PYTHONHTTPSVERIFY", "0"
    kinds = ALL_KINDS
    vulnerable = Sample("Dockerfile", "FROM python:3.12-slim\nENV PYTHONHTTPSVERIFY=0\nUSER app\n")
    fixed = Sample("Dockerfile", "FROM python:3.12-slim\nENV PYTHONUNBUFFERED=1\nUSER app\n")


DSN_SCHEMES = (
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "redis",
    "rediss",
    "mongodb",
    "amqp",
    "mssql",
)


def _dsns(subject: ConfigDoc) -> Iterator[tuple[str, Any, int]]:
    for value, line in subject.strings():
        if "://" not in value or len(value) > 2000:
            continue
        scheme = value.split("://", 1)[0].lower().split("+")[0]
        if scheme in DSN_SCHEMES:
            try:
                yield value, urlsplit(value), line
            except ValueError:
                continue


class SslmodeDisable(ConfigRule):
    type = "config.sslmode-disable"
    severity = Severity.MEDIUM
    title = "Database connection with TLS disabled (sslmode=disable)"
    fix = "Use sslmode=verify-full (or at least require) for database connections."
    kinds = ALL_KINDS
    vulnerable = Sample(
        ".env",
        "DATABASE_URL=postgresql://shop:${DB_PASSWORD}@db.internal:5432/shop?sslmode=disable\n",
    )
    fixed = Sample(
        ".env",
        "DATABASE_URL=postgresql://shop:${DB_PASSWORD}@db.internal:5432/shop?sslmode=verify-full\n",
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for _value, url, line in _dsns(subject):
            q = parse_qs(url.query)
            if "disable" in q.get("sslmode", []) or "false" in q.get("ssl", []):
                yield Hit(
                    f"{url.scheme}://{url.hostname or ''} with sslmode=disable",
                    line,
                    key=f"dsn:{url.hostname}:{line}",
                )
        for key, value, line in subject.settings():
            if norm_key(key) == "sslmode" and str(value).strip("'\"") == "disable":
                yield Hit("sslmode: disable", line, key=f"sslmode:{line}")


DEFAULT_PAIRS = {
    ("admin", "admin"),
    ("postgres", "postgres"),
    ("root", "root"),
    ("root", ""),
    ("sa", ""),
    ("guest", "guest"),
    ("admin", "password"),
    ("user", "password"),
    ("root", "toor"),
    ("mysql", "mysql"),
    ("admin", "changeme"),
    ("postgres", "password"),
}
WEAK_PASSWORDS = {
    "admin",
    "postgres",
    "root",
    "password",
    "changeme",
    "secret",
    "123456",
    "mysql",
    "guest",
    "pass",
    "toor",
    "default",
    "letmein",
}
USER_KEYS = {"user", "username", "login", "dbuser", "databaseuser"}
PASSWORD_KEYS = {"password", "pass", "passwd", "pwd", "dbpassword", "databasepassword"}


class DefaultCredentials(ConfigRule):
    type = "config.default-credentials"
    severity = Severity.CRITICAL
    title = "Default credentials (admin/admin, postgres/postgres, root/root)"
    fix = "Create a dedicated user with a generated password, read from a secret store."
    kinds = ALL_KINDS - {"compose"}
    vulnerable = Sample(
        "settings.py",
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'shop',\n"
        "    'USER': 'postgres', 'PASSWORD': 'postgres', 'HOST': 'db'}}\n",
    )
    fixed = Sample(
        "settings.py",
        "import os\nDATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'shop',\n"
        "    'USER': 'shop', 'PASSWORD': os.environ['DB_PASSWORD'], 'HOST': 'db'}}\n",
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for _value, url, line in _dsns(subject):
            user = unquote(url.username or "")
            password = unquote(url.password or "")
            if url.password is not None and (user.lower(), password.lower()) in DEFAULT_PAIRS:
                yield Hit(
                    f"{url.scheme} DSN logs in as {user}/{'*' * len(password)} (a default pair)",
                    line,
                    key=f"dsn:{user}:{url.hostname}",
                )
        # mappings holding both a user and a password key
        groups: dict[tuple[Any, ...], dict[str, tuple[Any, int]]] = {}
        for p in subject.pairs:
            k = norm_key(p.key)
            if k in USER_KEYS or k in PASSWORD_KEYS:
                groups.setdefault(p.path[:-1], {})[k] = (p.value, p.line)
        for parent, keys in groups.items():
            users = [v for k, v in keys.items() if k in USER_KEYS]
            pws = [v for k, v in keys.items() if k in PASSWORD_KEYS]
            if users and pws and isinstance(users[0][0], str) and isinstance(pws[0][0], str):
                pair = (users[0][0].lower(), pws[0][0].lower())
                if pair in DEFAULT_PAIRS:
                    yield Hit(
                        f"user {users[0][0]!r} with its default password",
                        pws[0][1],
                        key=f"map:{parent}",
                    )
        for name, value, line in subject.env_vars():
            if (
                subject.kind != "compose"
                and name.upper().endswith(("PASSWORD", "_PASS", "PASSWD"))
                and value.strip("'\"").lower() in WEAK_PASSWORDS
            ):
                yield Hit(f"{name} is a default password", line, key=f"env:{name}")


class DatabaseListenAll(ConfigRule):
    type = "config.database-listen-all"
    severity = Severity.HIGH
    title = "Database listens on all interfaces"
    fix = "Bind the database to localhost or the private interface; firewall the port."
    kinds = frozenset({"pgconf", "ini", "yaml"})
    vulnerable = Sample("postgresql.conf", "listen_addresses = '*'\nport = 5432\n")
    fixed = Sample("postgresql.conf", "listen_addresses = 'localhost'\nport = 5432\n")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        name = subject.path.name.lower()
        for p in subject.pairs:
            k = norm_key(p.key)
            v = str(p.value).strip()
            if subject.kind == "pgconf" and k == "listenaddresses":
                if any(a.strip() in ("*", "0.0.0.0", "::") for a in v.split(",")):
                    yield Hit(f"PostgreSQL listen_addresses = '{v}'", p.line, key="listen")
            elif subject.kind == "ini" and k == "bindaddress" and v in ("0.0.0.0", "*", "::"):
                yield Hit(f"MySQL bind-address = {v}", p.line, key="bind")
            elif (
                subject.kind == "yaml"
                and name.startswith("mongod")
                and ((k == "bindip" and "0.0.0.0" in v) or (k == "bindipall" and truthy(p.value)))
            ):
                yield Hit(f"MongoDB net.{p.key}: {v}", p.line, key="bind")


CORS_ORIGIN_KEYS = {
    "alloworigins",
    "allowedorigins",
    "corsorigins",
    "origins",
    "alloworigin",
    "corsallowedorigins",
    "accesscontrolalloworigin",
}
CORS_CRED_KEYS = {
    "allowcredentials",
    "supportscredentials",
    "corsallowcredentials",
    "credentials",
    "accesscontrolallowcredentials",
}


class CorsWildcardCredentials(ConfigRule):
    type = "config.cors-wildcard-credentials"
    severity = Severity.HIGH
    title = "CORS config allows any origin with credentials"
    fix = "List the allowed origins explicitly when credentials are allowed."
    kinds = DATA_KINDS
    vulnerable = Sample(
        "config/api.yaml", "cors:\n  allow_origins: ['*']\n  allow_credentials: true\n"
    )
    fixed = Sample(
        "config/api.yaml",
        "cors:\n  allow_origins: ['https://shop.example.com']\n  allow_credentials: true\n",
    )

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        by_parent: dict[tuple[Any, ...], dict[str, list[tuple[Any, int]]]] = {}
        for p in subject.pairs:
            path = p.path
            while path and isinstance(path[-1], int):
                path = path[:-1]  # list items belong to their key
            k = norm_key(path[-1]) if path and isinstance(path[-1], str) else ""
            if k in CORS_ORIGIN_KEYS or k in CORS_CRED_KEYS:
                kind = "origin" if k in CORS_ORIGIN_KEYS else "cred"
                by_parent.setdefault(path[:-1], {}).setdefault(kind, []).append((p.value, p.line))
        for parent, found in by_parent.items():
            origins = found.get("origin", [])
            creds = found.get("cred", [])
            wildcard = [line for v, line in origins if str(v).strip() == "*"]
            if wildcard and any(truthy(v) for v, _ in creds):
                yield Hit("origins '*' together with credentials", wildcard[0], key=f"{parent}")


RULES = (
    DebugEnabled(),
    FlaskDebugEnv(),
    TlsVerifyDisabled(),
    NodeTlsRejectUnauthorized(),
    PythonHttpsVerifyOff(),
    SslmodeDisable(),
    DefaultCredentials(),
    DatabaseListenAll(),
    CorsWildcardCredentials(),
)
