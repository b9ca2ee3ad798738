"""The ``environment`` family: plaintext secrets in environments.

The current process environment (when the caller passes it), ``.env`` files under the audited
paths, and, opt-in, ``/proc/<pid>/environ`` of processes owned by the same user. Values are
judged by the shared secret engine's token formats (:mod:`prodshield.audit.secretsource`) and by
entropy under secret-like names; every value in a report is redacted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodshield.audit.context import MAX_FILE_BYTES, AuditContext
from prodshield.audit.documents import is_env_file, parse_document
from prodshield.audit.finding import AuditFinding, Severity, fingerprint
from prodshield.audit.rules.base import ExampleFromSample, Hit, Rule, Sample
from prodshield.audit.rules.environment.standard import is_standard
from prodshield.audit.secretsource import HIGH_ENTROPY, env_secret

if TYPE_CHECKING:
    from prodshield.secrets.engine import Scanner
    from prodshield.secrets.finding import SecretFinding

TOKEN = "ghp_" + "x7Kq2LmN9pR4sT6vW8yZ0aB3cD5eF1gH2iJ4"  # split so scanners of this repo stay quiet


_SIGNING_KEY = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA9x"  # prodshield:allow (a rule sample)


@dataclass
class EnvSubject:
    """Variables from one place: ``origin`` is ``process``, ``file`` or ``proc``."""

    origin: str
    variables: list[tuple[str, str, int | None]]
    path: Path | None = None
    pid: int | None = None


class EnvRule(ExampleFromSample):
    family = "environment"
    type: str
    severity: Severity
    title: str
    fix: str
    vulnerable: Sample
    fixed: Sample
    origin = ""

    def check(self, subject: EnvSubject, ctx: AuditContext) -> Iterable[Hit]:
        if subject.origin != self.origin:
            return
        for name, value, line in subject.variables:
            # A running process's standard variables (PWD, GITHUB_*, INVOCATION_ID...) are judged
            # by value only; a .env file that sets them is judged like any other line.
            by_value = subject.origin != "file" and is_standard(name)
            match = env_secret(name, value, by_value=by_value)
            if match is None:
                continue
            why = (
                None
                if subject.origin == "file"
                else operator_reason(name, ctx.settings.operator_variables)
            )
            if why:
                where = (
                    f"pid:{subject.pid} env:{name}" if subject.pid is not None else f"env:{name}"
                )
                ctx.skipped.append(f"{where}: {why}")
                continue
            yield Hit(
                f"{name} holds {_article(match.kind)} {match.kind} in plain text "
                f"({match.redacted})",
                line,
                key=name,
                secret_id=match.secret_id,
                severity=environment_severity(match.severity),
            )


def operator_reason(name: str, referenced: frozenset[str]) -> str | None:
    """Why a running environment's variable is the operator's setting, not a leak: prodshield's
    own ``PRODSHIELD_*`` settings and the variables shield.yaml refers to as ``${VAR}`` are
    expected there (a ``.env`` file in the tree holding them is still a leak). ``audit`` and
    ``audit secrets --environ``/``--pid`` both skip them with this reason."""
    if name.startswith("PRODSHIELD_"):
        return "prodshield's own setting (expected in the environment)"
    if name in referenced:
        return f"shield.yaml reads it as ${{{name}}} (expected in the environment)"
    return None


def environment_severity(engine: str | None) -> Severity:
    """A plaintext secret in an environment (a process's, a .env file's) is high, as the rules
    say, or critical for a credential format the engine rates critical (an AWS secret key):
    ``audit`` and ``audit secrets --environ`` rate it alike (``secrets.places``)."""
    return Severity.CRITICAL if engine == Severity.CRITICAL.value else Severity.HIGH


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


class ProcessEnvSecret(EnvRule):
    type = "environment.process-secret"
    severity = Severity.HIGH
    title = "Plaintext secret in the process environment"
    fix = "Inject secrets from a secret store at start, or mount them as files (0600)."
    origin = "process"
    vulnerable = Sample(env={"GITHUB_TOKEN_DEPLOY": TOKEN, "HOME": "/home/app"})
    fixed = Sample(env={"HOME": "/home/app", "GITHUB_TOKEN_DEPLOY_FILE": "/run/secrets/gh"})


class DotenvSecret(EnvRule):
    type = "environment.dotenv-secret"
    severity = Severity.HIGH
    title = "Plaintext secret in a .env file"
    fix = "Keep .env files out of the tree and the image; reference a secret store instead."
    origin = "file"
    vulnerable = Sample(".env.production", f"APP_NAME=shop\nDEPLOY_TOKEN={TOKEN}\n", mode=0o600)
    fixed = Sample(".env.production", "APP_NAME=shop\nDEPLOY_TOKEN=${DEPLOY_TOKEN}\n", mode=0o600)


class ProcEnvironSecret(EnvRule):
    type = "environment.proc-environ-secret"
    severity = Severity.HIGH
    title = "Plaintext secret in a running process's environment"
    fix = "Restart the service with secrets read from files or a secret store."
    origin = "proc"
    vulnerable = Sample(profile="proc", env={"API_SIGNING_KEY": _SIGNING_KEY})
    fixed = Sample(profile="proc", env={"API_SIGNING_KEY_FILE": "/run/secrets/signing"})


RULES: tuple[Rule[Any], ...] = (ProcessEnvSecret(), DotenvSecret(), ProcEnvironSecret())


def dotenv_variables(path: Path, text: str) -> list[tuple[str, str, int | None]] | None:
    """The ``NAME=value`` lines of an env file (`is_env_file`: ``.env``, ``.env.*``,
    ``*.env``), or None for any other file."""
    if not is_env_file(path.name):
        return None
    doc = parse_document(path, text)
    if doc is None or doc.kind != "dotenv":
        return None
    return [(p.key, str(p.value), p.line) for p in doc.pairs]


def dotenv_findings(full: str, shown: str, scanner: Scanner) -> list[SecretFinding]:
    """The secrets ``environment.dotenv-secret`` reports in one file beyond what the engine's
    rules find (a high-entropy value under a secret-like name, such as a ``ghp_`` token whose
    checksum is not GitHub's), as ``audit secrets`` findings: with the engine's own findings, both
    commands report the same env-file secrets. An inline allow comment silences a line unless the
    scanner is strict; so does allowing the rule (``allow_rules``)."""
    path = Path(full)
    if not is_env_file(path.name) or DotenvSecret.type in scanner.settings.allow_rules:
        return []
    try:
        with open(full, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError:
        return []
    if len(raw) > MAX_FILE_BYTES:
        return []
    return dotenv_text_findings(raw, shown, scanner)


def dotenv_text_findings(
    raw: bytes, shown: str, scanner: Scanner, first_line: int = 1
) -> list[SecretFinding]:
    """:func:`dotenv_findings` for the text of an env file named ``shown`` (or lines of it
    starting at line ``first_line``: the lines a commit added, as ``audit secrets --git`` reads
    history), so the tree and its history report the same env-file secrets."""
    from prodshield.secrets.allow import allowed_rules, silences
    from prodshield.secrets.finding import SecretFinding
    from prodshield.secrets.finding import fingerprint as secret_fingerprint

    path = Path(shown)
    if (
        not is_env_file(path.name)
        or DotenvSecret.type in scanner.settings.allow_rules
        or len(raw) > MAX_FILE_BYTES
        or b"\0" in raw[:8192]
    ):
        return []
    text = raw.decode("utf-8", "replace")
    lines = text.splitlines()
    honour = scanner.settings.honour_allow_comments
    out = []
    for name, value, line in dotenv_variables(path, text) or []:
        match = env_secret(name, value, by_value=False)
        if match is None or match.kind != HIGH_ENTROPY or line is None:
            continue  # what the engine's rules find, the scanner reported (or was told to allow)
        source = lines[line - 1] if 0 < line <= len(lines) else ""
        if honour and silences(allowed_rules(source), "environment", DotenvSecret.type):
            continue
        out.append(
            SecretFinding(
                rule=DotenvSecret.type,
                kind=match.kind,
                severity="high",
                path=shown,
                line=line + first_line - 1,
                column=1,
                redacted=match.redacted,
                fingerprint=secret_fingerprint(DotenvSecret.type, value, shown),
                confidence=0.8,
                snippet=f"{name}=…",
                secret_id=match.secret_id or "",
            )
        )
    return out


def _read_environ(pid: int) -> list[tuple[str, str, int | None]] | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    out: list[tuple[str, str, int | None]] = []
    for item in raw.split(b"\0"):
        name, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep and name:
            out.append((name, value, None))
    return out


def proc_subjects(
    uid: int | None = None, only: Iterable[int] | None = None
) -> Iterator[EnvSubject]:
    """Environments of processes owned by ``uid`` (default: ours)."""
    uid = os.getuid() if uid is None else uid
    pids = (
        list(only)
        if only is not None
        else [int(p) for p in os.listdir("/proc") if p.isdigit()]
        if os.path.isdir("/proc")
        else []
    )
    for pid in pids:
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
        except OSError:
            continue
        variables = _read_environ(pid)
        if variables:
            yield EnvSubject("proc", variables, pid=pid)


def subjects(ctx: AuditContext) -> Iterator[EnvSubject]:
    if ctx.environ is not None:
        yield EnvSubject("process", [(k, v, None) for k, v in _items(ctx.environ)])
    for path in ctx.files():
        if not is_env_file(path.name):
            continue
        text = ctx.read_text(path)
        if text is None:
            continue
        variables = dotenv_variables(path, text)
        if variables is not None:
            yield EnvSubject("file", variables, path=path)
    if ctx.settings.proc_environ:
        me = os.getpid()
        yield from (s for s in proc_subjects(only=ctx.settings.proc_pids) if s.pid != me)


def _items(env: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted(env.items())


class EnvironmentFamily:
    name = "environment"
    rules = RULES

    def run(self, ctx: AuditContext, rules: tuple[Rule[Any], ...]) -> Iterator[AuditFinding]:
        for subject in subjects(ctx):
            for rule in rules:
                for hit in ctx.hits(rule, subject, subject.origin):
                    key = f"{subject.origin}:{hit.key}"
                    if subject.origin == "file":
                        target = None
                        stable = None
                    else:
                        # Findings in a running environment point at the variable in the
                        # process (``env:NAME``, ``pid:N env:NAME``), never at a file; the
                        # fingerprint keeps its earlier form so baselines stay valid.
                        process = f"pid:{subject.pid}" if subject.pid is not None else None
                        target = f"{process} env:{hit.key}" if process else f"env:{hit.key}"
                        stable = fingerprint(rule.type, None, process, key)
                    yield ctx.finding(
                        rule,
                        hit.message,
                        path=subject.path,
                        line=hit.line,
                        target=target,
                        key=key,
                        fix=hit.fix,
                        severity=hit.severity,
                        fingerprint_override=stable,
                        secret_id=hit.secret_id,
                    )


FAMILY = EnvironmentFamily()
