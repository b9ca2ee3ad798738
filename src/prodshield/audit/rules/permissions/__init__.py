"""The ``permissions`` family: sensitive files readable or writable by the wrong people.

The subject is a :class:`FileFacts` (path, mode, owner, what kind of sensitive file it is), or
for ``permissions.symlink-outside-tree`` (``links.py``) a symlink in the tree. Each
rule yields a hit proposing a ``chmod``/``chown``; rules that can be fixed automatically implement
``fixed_mode(mode) -> int`` and :func:`plan_fixes` turns findings into :class:`PermissionFix` es.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import is_env_file, is_env_template
from prodshield.audit.finding import AuditFinding, Severity
from prodshield.audit.rules.base import ExampleFromSample, Hit, Rule, Sample
from prodshield.audit.rules.permissions.links import SymlinkOutsideTree
from prodshield.audit.secretsource import contains_secret
from prodshield.text import shell_word

KEY_NAMES = re.compile(r"^(id_(rsa|dsa|ecdsa|ed25519)|.*\.(key|p8|ppk))$")
CRED_NAMES = re.compile(
    r"^(credentials(\.json|\.ya?ml)?|\.git-credentials|.*\.(p12|pfx|jks|keystore)|\.?htpasswd"
    r"|service-account.*\.json|.*-sa-key\.json|\.pypirc|\.vault-token|secrets?\.(ya?ml|json|toml))$"
)
CLIENT_NAMES = {".pgpass", ".netrc", "_netrc", ".my.cnf"}
KUBE_NAMES = re.compile(r"^(kubeconfig(\..+)?|.*\.kubeconfig)$")
PEM_KEY = re.compile(r"^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\s*$", re.M)
SOURCE_SUFFIXES = frozenset(
    {
        ".py",
        ".pyi",
        ".js",
        ".mjs",
        ".ts",
        ".tsx",
        ".jsx",
        ".go",
        ".java",
        ".kt",
        ".rb",
        ".php",
        ".rs",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".cs",
        ".swift",
        ".scala",
        ".md",
        ".rst",
    }
)


@dataclass
class FileFacts:
    path: Path
    mode: int  # permission bits only
    uid: int
    is_dir: bool
    kinds: frozenset[str]
    """private-key, env, credentials, client, kubeconfig, secret-content, ssh-dir, plain."""


def classify(path: Path, text: str | None) -> frozenset[str]:
    name = path.name
    kinds: set[str] = set()
    # the env files the environment family reads (`is_env_file`: `.env`, `.env.*`, `*.env`,
    # whatever characters the name holds), less the templates committed to be copied
    if is_env_file(name) and not is_env_template(name):
        kinds.add("env")
    code = path.suffix.lower() in SOURCE_SUFFIXES
    pem = text is not None and not code and PEM_KEY.search(text) is not None
    if (KEY_NAMES.match(name) or pem) and not name.endswith(".pub"):
        kinds.add("private-key")
    if CRED_NAMES.match(name) or (path.parent.name == ".aws" and name == "credentials"):
        encrypted = text is not None and ("kind: SealedSecret" in text or "\nsops:" in text)
        if not encrypted:
            kinds.add("credentials")
    if name in CLIENT_NAMES:
        kinds.add("client")
    if KUBE_NAMES.match(name) or (path.parent.name == ".kube" and name == "config"):
        kinds.add("kubeconfig")
    # secrets inside source code are the secrets family's findings; this is about data files
    if not kinds and not code and text is not None and contains_secret(text):
        kinds.add("secret-content")
    return frozenset(kinds) if kinds else frozenset({"plain"})


_AWS_ID = "AKIA" + "QYLPMN5HFIQR7XYZ"  # a sample; split so secret scanners of this repo stay quiet

SENSITIVE = frozenset(
    {"env", "private-key", "credentials", "client", "kubeconfig", "secret-content"}
)


def _fmt(mode: int) -> str:
    return f"{mode:04o}"


class PermissionRule(ExampleFromSample):
    family = "permissions"
    type: str
    severity: Severity
    title: str
    fix: str
    vulnerable: Sample
    fixed: Sample
    kinds: frozenset[str] = frozenset()
    bad_bits: int = 0o077

    def applies(self, facts: FileFacts) -> bool:
        return not facts.is_dir and bool(self.kinds & facts.kinds)

    def fixed_mode(self, mode: int) -> int:
        return mode & ~self.bad_bits & 0o7777

    def check(self, subject: FileFacts, ctx: AuditContext) -> Iterable[Hit]:
        if self.applies(subject) and subject.mode & self.bad_bits:
            new = self.fixed_mode(subject.mode)
            who = _who(subject.mode & self.bad_bits)
            yield Hit(
                f"mode {_fmt(subject.mode)}: {who} can {_what(subject.mode & self.bad_bits)} it",
                fix=f"chmod {_fmt(new)} {shell_word(ctx.fixpath(subject.path))}",
                key=self.type,
            )


def _who(bits: int) -> str:
    parts = []
    if bits & 0o070:
        parts.append("the group")
    if bits & 0o007:
        parts.append("every user")
    return " and ".join(parts)


def _what(bits: int) -> str:
    acts = []
    if bits & 0o044:
        acts.append("read")
    if bits & 0o022:
        acts.append("write")
    if bits & 0o011 and not acts:
        acts.append("execute")
    return "/".join(acts) or "access"


class PrivateKeyReadable(PermissionRule):
    type = "permissions.private-key-readable"
    severity = Severity.CRITICAL
    title = "Private key readable by group or others"
    fix = "chmod 600 the key (ssh and TLS servers expect 0600)."
    kinds = frozenset({"private-key"})
    bad_bits = 0o077
    vulnerable = Sample(
        "tls/server.key",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
        mode=0o644,
    )
    fixed = Sample(
        "tls/server.key",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
        mode=0o600,
    )


class EnvFileReadable(PermissionRule):
    type = "permissions.env-file-readable"
    severity = Severity.HIGH
    title = ".env file readable by group or others"
    fix = "chmod 600 the .env file (or 640 with a dedicated group for the service)."
    kinds = frozenset({"env"})
    bad_bits = 0o044 | 0o011
    vulnerable = Sample(".env", "DATABASE_URL=postgresql://shop@db/shop\n", mode=0o644)
    fixed = Sample(".env", "DATABASE_URL=postgresql://shop@db/shop\n", mode=0o600)


class CredentialsReadable(PermissionRule):
    type = "permissions.credentials-readable"
    severity = Severity.HIGH
    title = "Credentials file readable by group or others"
    fix = "chmod 600 the credentials file."
    kinds = frozenset({"credentials"})
    bad_bits = 0o044 | 0o011
    vulnerable = Sample(".aws/credentials", "[default]\nregion = eu-west-1\n", mode=0o644)
    fixed = Sample(".aws/credentials", "[default]\nregion = eu-west-1\n", mode=0o600)


class KubeconfigReadable(PermissionRule):
    type = "permissions.kubeconfig-readable"
    severity = Severity.HIGH
    title = "kubeconfig readable by group or others"
    fix = "chmod 600 the kubeconfig (it grants cluster access)."
    kinds = frozenset({"kubeconfig"})
    bad_bits = 0o044 | 0o011
    vulnerable = Sample(".kube/config", "apiVersion: v1\nkind: Config\n", mode=0o640)
    fixed = Sample(".kube/config", "apiVersion: v1\nkind: Config\n", mode=0o600)


class ClientCredentialFile(PermissionRule):
    type = "permissions.client-credential-file"
    severity = Severity.HIGH
    title = ".pgpass / .netrc / .my.cnf not 0600"
    fix = "chmod 600 the file (libpq ignores a .pgpass that group or others can read)."
    kinds = frozenset({"client"})
    bad_bits = 0o077
    vulnerable = Sample(".pgpass", "db.internal:5432:shop:shop:${PGPASSWORD}\n", mode=0o644)
    fixed = Sample(".pgpass", "db.internal:5432:shop:shop:${PGPASSWORD}\n", mode=0o600)


class SecretContentReadable(PermissionRule):
    type = "permissions.secret-content-readable"
    severity = Severity.HIGH
    title = "File containing a secret readable by every user"
    fix = "chmod 600 the file, and move the secret to a secret store."
    kinds = frozenset({"secret-content"})
    bad_bits = 0o004 | 0o002
    vulnerable = Sample("deploy/notes.txt", f"aws key: {_AWS_ID}\n", mode=0o644)
    fixed = Sample("deploy/notes.txt", f"aws key: {_AWS_ID}\n", mode=0o640)


class SecretWritable(PermissionRule):
    type = "permissions.secret-writable"
    severity = Severity.CRITICAL
    title = "Sensitive file writable by group or others"
    fix = "chmod go-w the file: whoever can write it can replace keys or inject settings."
    kinds = SENSITIVE
    bad_bits = 0o022
    vulnerable = Sample(".env.production", "DEBUG=0\n", mode=0o662)
    fixed = Sample(".env.production", "DEBUG=0\n", mode=0o600)


class SshDirOpen(PermissionRule):
    type = "permissions.ssh-dir-open"
    severity = Severity.HIGH
    title = ".ssh directory open to group or others"
    fix = "chmod 700 ~/.ssh (sshd refuses keys in a group/world-accessible .ssh)."
    bad_bits = 0o077
    vulnerable = Sample(
        ".ssh/authorized_keys", "ssh-ed25519 AAAAC3Nza deploy\n", mode=0o600, dir_mode=0o755
    )
    fixed = Sample(
        ".ssh/authorized_keys", "ssh-ed25519 AAAAC3Nza deploy\n", mode=0o600, dir_mode=0o700
    )

    def applies(self, facts: FileFacts) -> bool:
        return facts.is_dir and facts.path.name == ".ssh"


class WorldWritable(PermissionRule):
    type = "permissions.world-writable"
    severity = Severity.HIGH
    title = "File or directory writable by every user"
    fix = "chmod o-w (directories shared on purpose need the sticky bit, chmod +t)."
    bad_bits = 0o002
    vulnerable = Sample("deploy/start.sh", "#!/bin/sh\nexec gunicorn shop.wsgi\n", mode=0o777)
    fixed = Sample("deploy/start.sh", "#!/bin/sh\nexec gunicorn shop.wsgi\n", mode=0o755)

    def applies(self, facts: FileFacts) -> bool:
        if facts.is_dir:
            return not facts.mode & stat.S_ISVTX and facts.path.name != ".ssh"
        return facts.kinds == frozenset({"plain"})


class WrongOwner(ExampleFromSample):
    family = "permissions"
    type = "permissions.wrong-owner"
    severity = Severity.MEDIUM
    title = "Sensitive file owned by another user"
    fix = "chown it to the service's user."
    vulnerable = Sample(".env", "DEBUG=0\n", mode=0o600, uid=65534)
    fixed = Sample(".env", "DEBUG=0\n", mode=0o600)

    def check(self, subject: FileFacts, ctx: AuditContext) -> Iterable[Hit]:
        expected = _expected_owner(ctx)
        if subject.is_dir or not (subject.kinds & SENSITIVE) or expected is None:
            return
        if subject.uid != expected:
            owner = _user_name(expected)
            yield Hit(
                f"owned by {_user_name(subject.uid)}, expected {owner}",
                fix=f"chown {shell_word(owner)} {shell_word(ctx.fixpath(subject.path))}",
                key=self.type,
            )


def _expected_owner(ctx: AuditContext) -> int | None:
    if ctx.settings.owner_uid is not None:
        return ctx.settings.owner_uid
    roots = [p for p in ctx.paths if p.is_dir()]
    if not roots:
        return None
    try:
        return roots[0].stat().st_uid
    except OSError:
        return None


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


RULES: tuple[Rule[Any], ...] = (
    PrivateKeyReadable(),
    EnvFileReadable(),
    CredentialsReadable(),
    KubeconfigReadable(),
    ClientCredentialFile(),
    SecretContentReadable(),
    SecretWritable(),
    SshDirOpen(),
    WorldWritable(),
    WrongOwner(),
    SymlinkOutsideTree(),
)


def facts(ctx: AuditContext) -> Iterator[FileFacts]:
    for path in ctx.files():
        try:
            st = path.stat()  # a file reached through a link is judged by its target's mode
        except OSError:
            continue
        text = ctx.read_text(path) if st.st_size <= 256 * 1024 else None
        yield FileFacts(path, stat.S_IMODE(st.st_mode), st.st_uid, False, classify(path, text))
    for d in ctx.dirs():
        try:
            st = d.lstat()
        except OSError:
            continue
        yield FileFacts(d, stat.S_IMODE(st.st_mode), st.st_uid, True, frozenset({"dir"}))


class PermissionsFamily:
    name = "permissions"
    rules = RULES

    def run(self, ctx: AuditContext, rules: tuple[Rule[Any], ...]) -> Iterator[AuditFinding]:
        link_rules: tuple[Rule[Any], ...] = tuple(
            r for r in rules if isinstance(r, SymlinkOutsideTree)
        )
        file_rules = tuple(r for r in rules if r not in link_rules)
        for link in ctx.links() if link_rules else ():
            for link_rule in link_rules:
                for hit in ctx.hits(link_rule, link, link.path):
                    yield ctx.finding(link_rule, hit.message, path=link.path, key=hit.key)
        for f in facts(ctx):
            for rule in file_rules:
                for hit in ctx.hits(rule, f, f.path):
                    yield ctx.finding(
                        rule,
                        hit.message,
                        path=f.path,
                        key=hit.key,
                        fix=hit.fix,
                        severity=hit.severity,
                    )


FAMILY = PermissionsFamily()


@dataclass(frozen=True)
class PermissionFix:
    path: Path
    old_mode: int
    new_mode: int

    def describe(self) -> str:
        return (
            f"chmod {_fmt(self.new_mode)} {shell_word(str(self.path))}  (was {_fmt(self.old_mode)})"
        )


def plan_fixes(findings: Iterable[AuditFinding], base: Path) -> list[PermissionFix]:
    """The chmods that fix the permission findings (several findings on one path combine)."""
    by_id = {r.type: r for r in RULES}
    modes: dict[Path, tuple[int, int]] = {}
    for f in findings:
        rule = by_id.get(f.rule)
        if f.family != "permissions" or f.path is None or not isinstance(rule, PermissionRule):
            continue
        path = Path(f.path) if Path(f.path).is_absolute() else base / f.path
        if path.is_symlink():  # its target lies outside the tree: never changed by --fix
            continue
        try:
            current = stat.S_IMODE(path.lstat().st_mode)
        except OSError:
            continue
        old, new = modes.get(path, (current, current))
        modes[path] = (old, rule.fixed_mode(new))
    return [PermissionFix(p, old, new) for p, (old, new) in modes.items() if old != new]


def apply_fixes(fixes: Iterable[PermissionFix]) -> list[str]:
    """Apply the chmods; return one line per failure."""
    errors = []
    for fx in fixes:
        try:
            if fx.path.is_symlink():
                raise OSError("is a symlink, not changed")
            os.chmod(fx.path, fx.new_mode)
        except OSError as exc:
            errors.append(f"{fx.path}: {exc}")
    return errors
