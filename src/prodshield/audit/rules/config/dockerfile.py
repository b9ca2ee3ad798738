"""Dockerfile: the user the final image runs as, secrets baked into ENV/ARG, tags, ports."""

from __future__ import annotations

from collections.abc import Iterable

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc, Directive, dockerfile_assignments
from prodshield.audit.finding import Severity
from prodshield.audit.rules.base import Hit, Sample
from prodshield.audit.rules.config.base import ConfigRule, is_reference, secret_like

DOCKER = frozenset({"dockerfile"})
_SAFE = (
    "FROM python:3.12-slim AS build\nRUN pip wheel -w /wheels shop\n"
    "FROM python:3.12-slim\nCOPY --from=build /wheels /wheels\n"
    "RUN pip install /wheels/* && useradd -r app\nENV PYTHONUNBUFFERED=1\n"
    'EXPOSE 8000\nUSER app\nCMD ["gunicorn", "shop.wsgi"]\n'
)


def _sample(old: str, new: str) -> Sample:
    assert old in _SAFE
    return Sample("Dockerfile", _SAFE.replace(old, new))


def _final_stage(doc: ConfigDoc) -> list[Directive]:
    start = 0
    for i, d in enumerate(doc.directives):
        if d.name == "FROM":
            start = i
    return doc.directives[start:]


class DockerRootUser(ConfigRule):
    type = "config.docker-root-user"
    severity = Severity.HIGH
    title = "Container runs as root (no USER, or USER root last)"
    fix = "Create an unprivileged user and end the final stage with USER app."
    kinds = DOCKER
    vulnerable = _sample("USER app\n", "")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        stage = _final_stage(subject)
        if not stage:
            return
        users = [d for d in stage if d.name == "USER"]
        if not users:
            yield Hit(
                "the final stage sets no USER: the process runs as root",
                stage[0].line,
                key="nouser",
            )
        elif users[-1].args and users[-1].args[0].split(":")[0] in ("root", "0"):
            yield Hit("the last USER is root", users[-1].line, key="root")


class DockerSecretInEnv(ConfigRule):
    type = "config.docker-secret-in-env"
    severity = Severity.CRITICAL
    title = "Secret baked into the image (ENV/ARG)"
    fix = "Pass secrets at run time (orchestrator secrets, --secret mounts), not ENV/ARG."
    kinds = DOCKER
    vulnerable = _sample(
        "ENV PYTHONUNBUFFERED=1",
        "ENV PYTHONUNBUFFERED=1 DB_PASSWORD=Sup3rS3cretPw",  # prodshield:allow (sample)
    )
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for d in subject.directives:
            if d.name not in ("ENV", "ARG"):
                continue
            for name, value in dockerfile_assignments(d):
                if secret_like(name) and not is_reference(value):
                    yield Hit(
                        f"{d.name} {name} holds a literal value (visible in image history)",
                        d.line,
                        key=name,
                    )


class DockerLatestTag(ConfigRule):
    type = "config.docker-latest-tag"
    severity = Severity.MEDIUM
    title = "Base image not pinned (:latest or no tag)"
    fix = "Pin the base image to a version tag (and ideally a digest)."
    kinds = DOCKER
    vulnerable = _sample("FROM python:3.12-slim\nCOPY", "FROM python:latest\nCOPY")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        stages: set[str] = set()
        for d in subject.directives:
            if d.name != "FROM" or not d.args:
                continue
            args = [a for a in d.args if not a.startswith("--")]
            if not args:
                continue
            image = args[0]
            if len(args) >= 3 and args[1].lower() == "as":
                stages.add(args[2].lower())
            if image.lower() in stages or image == "scratch" or "$" in image or "@" in image:
                continue
            last = image.rsplit("/", 1)[-1]
            if ":" not in last or last.endswith(":latest"):
                yield Hit(f"FROM {image} is not pinned", d.line, key=image)


class DockerExposeSsh(ConfigRule):
    type = "config.docker-expose-ssh"
    severity = Severity.MEDIUM
    title = "Image exposes SSH (EXPOSE 22)"
    fix = "Do not run sshd in containers; use docker exec / kubectl exec."
    kinds = DOCKER
    vulnerable = _sample("EXPOSE 8000", "EXPOSE 8000 22")
    fixed = _sample("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for d in subject.directives:
            if d.name == "EXPOSE" and any(a.split("/")[0] == "22" for a in d.args):
                yield Hit("EXPOSE 22", d.line, key="22")


RULES = (DockerRootUser(), DockerSecretInEnv(), DockerLatestTag(), DockerExposeSsh())
