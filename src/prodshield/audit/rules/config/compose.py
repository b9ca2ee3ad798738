"""docker-compose files (with or without a ``version:`` key)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc, truthy
from prodshield.audit.finding import Severity
from prodshield.audit.rules.base import Hit, Sample
from prodshield.audit.rules.config.base import ConfigRule

COMPOSE = frozenset({"compose"})
_SAFE = (
    "services:\n"
    '  web:\n    image: shop/web:1.4.2\n    user: "1000:1000"\n    ports:\n      - "8000:8000"\n'
    "    environment:\n      DATABASE_URL: ${DATABASE_URL}\n"
    '  db:\n    image: postgres:16\n    ports:\n      - "127.0.0.1:5432:5432"\n'
    "    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n"
    "    volumes:\n      - pgdata:/var/lib/postgresql/data\n"
    "volumes:\n  pgdata: {}\n"
)


def _sample(old: str, new: str) -> Sample:
    assert old in _SAFE
    return Sample("deploy/stack.yml", _SAFE.replace(old, new))


def services(doc: ConfigDoc) -> Iterator[tuple[int, str, dict[str, Any]]]:
    for index, d in enumerate(doc.data):
        if isinstance(d, dict) and isinstance(d.get("services"), dict):
            for name, svc in d["services"].items():
                if isinstance(svc, dict):
                    yield index, str(name), svc


class ComposePrivileged(ConfigRule):
    type = "config.compose-privileged"
    severity = Severity.CRITICAL
    title = "Compose service runs privileged"
    fix = "Remove privileged: true; add only the capabilities needed (cap_add)."
    kinds = COMPOSE
    vulnerable = _sample('    user: "1000:1000"\n', '    user: "1000:1000"\n    privileged: true\n')
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for i, name, svc in services(subject):
            if truthy(svc.get("privileged")):
                yield Hit(
                    f"service {name} is privileged",
                    subject.line_of((i, "services", name, "privileged")),
                    key=name,
                )


class ComposeDockerSocket(ConfigRule):
    type = "config.compose-docker-socket"
    severity = Severity.CRITICAL
    title = "Docker socket mounted into a container"
    fix = "Do not mount /var/run/docker.sock (it is root on the host)."
    kinds = COMPOSE
    vulnerable = _sample(
        "      - pgdata:/var/lib/postgresql/data\n",
        "      - pgdata:/var/lib/postgresql/data\n      - /var/run/docker.sock:/var/run/docker.sock\n",
    )
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for i, name, svc in services(subject):
            for j, v in enumerate(svc.get("volumes") or []):
                source = v.get("source", "") if isinstance(v, dict) else str(v).split(":")[0]
                if str(source).endswith("docker.sock"):
                    yield Hit(
                        f"service {name} mounts {source}",
                        subject.line_of((i, "services", name, "volumes", j)),
                        key=name,
                    )


class ComposeRootUser(ConfigRule):
    type = "config.compose-root-user"
    severity = Severity.HIGH
    title = "Compose service runs as root (user: root)"
    fix = "Set user: to an unprivileged uid:gid."
    kinds = COMPOSE
    vulnerable = _sample('user: "1000:1000"', "user: root")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for i, name, svc in services(subject):
            user = str(svc.get("user", "")).split(":")[0]
            if user in ("root", "0"):
                yield Hit(
                    f"service {name} runs as {svc.get('user')}",
                    subject.line_of((i, "services", name, "user")),
                    key=name,
                )


DB_PORTS = {5432, 3306, 6379, 27017, 9200, 9300, 11211, 5984, 1433, 9042, 8086, 7474, 5672}


def _published(port: Any) -> tuple[str | None, int | None]:
    """(host ip, container port) of a short- or long-syntax port entry."""
    if isinstance(port, dict):
        target = str(port.get("target"))
        if port.get("published") is None:
            return None, None
        return port.get("host_ip"), int(target) if target.isdigit() else None
    parts = str(port).split("/")[0]
    if parts.startswith("["):  # [::1]:5432:5432
        v6host, _, rest = parts[1:].partition("]:")
        bits = rest.split(":")
        return v6host, int(bits[-1]) if bits[-1].isdigit() else None
    bits = parts.split(":")
    if len(bits) == 1:
        return None, None  # container port only: not published on a fixed host port
    container = bits[-1].split("-")[0]
    host = bits[0] if len(bits) == 3 else None
    return host, int(container) if container.isdigit() else None


class ComposeDatabasePortPublic(ConfigRule):
    type = "config.compose-database-port-public"
    severity = Severity.HIGH
    title = "Database port published on all interfaces"
    fix = 'Publish it on 127.0.0.1 ("127.0.0.1:5432:5432") or not at all.'
    kinds = COMPOSE
    vulnerable = _sample('"127.0.0.1:5432:5432"', '"5432:5432"')
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for i, name, svc in services(subject):
            for j, port in enumerate(svc.get("ports") or []):
                host, container = _published(port)
                if container in DB_PORTS and host in (None, "", "0.0.0.0", "::"):
                    yield Hit(
                        f"service {name} publishes {container} on every interface",
                        subject.line_of((i, "services", name, "ports", j)),
                        key=f"{name}:{container}",
                    )


DB_PASSWORD_VARS = {
    "POSTGRES_PASSWORD",
    "MYSQL_ROOT_PASSWORD",
    "MYSQL_PASSWORD",
    "MARIADB_ROOT_PASSWORD",
    "MONGO_INITDB_ROOT_PASSWORD",
    "REDIS_PASSWORD",
    "RABBITMQ_DEFAULT_PASS",
    "ELASTIC_PASSWORD",
    "MINIO_ROOT_PASSWORD",
    "PGADMIN_DEFAULT_PASSWORD",
    "GF_SECURITY_ADMIN_PASSWORD",
}
WEAK = {
    "postgres",
    "root",
    "admin",
    "password",
    "changeme",
    "secret",
    "example",
    "123456",
    "mysql",
    "guest",
    "pass",
    "minioadmin",
    "test",
}


class ComposeDefaultPassword(ConfigRule):
    type = "config.compose-default-password"
    severity = Severity.CRITICAL
    title = "Compose service uses a default database password (or trust auth)"
    fix = "Read the password from an env file or secret (${POSTGRES_PASSWORD}), never a default."
    kinds = COMPOSE
    vulnerable = _sample("${POSTGRES_PASSWORD}", "postgres")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for name, value, line in subject.env_vars():
            v = value.strip("'\"")
            if name in DB_PASSWORD_VARS and v.lower() in WEAK | {""}:
                yield Hit(
                    f"{name}={'(empty)' if not v else '*' * len(v)} is a default password",
                    line,
                    key=name,
                )
            elif name in (
                "POSTGRES_HOST_AUTH_METHOD",
                "MYSQL_ALLOW_EMPTY_PASSWORD",
            ) and v.lower() in ("trust", "yes", "true", "1"):
                yield Hit(f"{name}={v} lets anyone log in without a password", line, key=name)


RULES = (
    ComposePrivileged(),
    ComposeDockerSocket(),
    ComposeRootUser(),
    ComposeDatabasePortPublic(),
    ComposeDefaultPassword(),
)
