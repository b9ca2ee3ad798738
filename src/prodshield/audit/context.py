"""What one audit run looks at and the knobs its rules read."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from prodshield.audit.finding import AuditFinding, Severity, fingerprint
from prodshield.audit.links import Link, examine, skipped_note
from prodshield.secrets.files import live_database

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        "dist",
        "build",
        "site-packages",
    }
)
MAX_FILE_BYTES = 2 * 1024 * 1024
CACHE_TEXT_BYTES = 512 * 1024
CACHE_BUDGET_CHARS = 24 * 1024 * 1024
"""The texts one run keeps for its other families, in all: past it, files are re-read (from the
page cache) rather than held, so a big tree costs no more memory than a small one."""


@dataclass(frozen=True)
class TlsTarget:
    host: str
    port: int = 443
    servername: str | None = None

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def parse(cls, text: str, servername: str | None = None) -> TlsTarget:
        """``host:port``, ``[v6]:port`` or ``host`` (port 443)."""
        from prodshield.errors import Invalid

        text = text.strip()
        host, port = text, 443
        if text.startswith("["):
            end = text.find("]")
            if end < 0:
                raise Invalid(f"bad TLS target {text!r}: expected [v6addr]:port")
            host = text[1:end]
            rest = text[end + 1 :]
            if rest.startswith(":"):
                port = _port(rest[1:], text)
        elif text.count(":") == 1:
            host, p = text.split(":")
            port = _port(p, text)
        elif ":" in text:
            import ipaddress

            try:
                ipaddress.IPv6Address(text)
            except ValueError:
                raise Invalid(f"bad TLS target {text!r}: expected host:port") from None
        if not host:
            raise Invalid(f"bad TLS target {text!r}: expected host:port")
        return cls(host, port, servername)


def _port(text: str, whole: str) -> int:
    from prodshield.errors import Invalid

    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise Invalid(f"bad TLS target {whole!r}: port must be 1-65535")
    return int(text)


@dataclass
class AuditSettings:
    """Thresholds and opt-ins (from ``shield.yaml``'s ``audit:`` section and the CLI)."""

    expiry_warn_days: float = 30.0
    expiry_critical_days: float = 7.0
    owner_uid: int | None = None
    """Expected owner of sensitive files; default: the owner of the audited root."""
    revocation: bool = False
    revocation_hosts: tuple[str, ...] = ()
    """OCSP/CRL requests go only to these hosts (never to a third-party service by default)."""
    proc_environ: bool = False
    proc_pids: tuple[int, ...] | None = None
    """Restrict the /proc scan to these pids (default: every process of the same user)."""
    strict: bool = False
    """``--strict``: inline allow comments silence nothing; baseline entries need a reason and
    an expiry."""
    timeout: float = 5.0
    concurrency: int = 64
    verify_secrets: bool | None = None
    """``--verify``/``--no-verify``: ask providers whether the secrets found work (None: as
    ``audit.secrets.verify.enabled`` says)."""
    operator_variables: frozenset[str] = frozenset()
    """Variables shield.yaml refers to as ``${VAR}``: the operator's settings, expected in a
    running environment, so reported at info level there (as is every ``PRODSHIELD_*``)."""


@dataclass
class AuditContext:
    """The inputs of one run: files under the audited paths, TLS targets, the environment."""

    paths: list[Path] = field(default_factory=list)
    tls_targets: list[TlsTarget] = field(default_factory=list)
    ca_file: Path | None = None
    environ: Mapping[str, str] | None = None
    """The process environment to audit; ``None`` means do not audit the process environment."""
    exclude: tuple[str, ...] = ()
    settings: AuditSettings = field(default_factory=AuditSettings)
    audit_config: Any = None
    """The shield.yaml ``audit:`` section, when there is one (the secrets family reads it)."""
    repo_root: Path | None = None
    fix_from: Path | None = None
    """Where the proposed fix commands (``chmod``, ``chown``) are run from: `prodshield audit`'s
    working directory, so ``audit app`` proposes ``chmod 0664 app/run.sh``; None: they name the
    path as reports show it (:meth:`relpath`)."""
    skipped: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    """TLS endpoints (``host:port``) that could not be reached, so were not graded."""
    tls_graded: int = 0
    """TLS endpoints and certificate files the TLS rules graded."""
    _files: list[Path] | None = None
    _links: list[Link] = field(default_factory=list)
    _link_paths: set[Path] = field(default_factory=set)
    _base: Path | None = None
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict)
    _cached_chars: int = 0

    # --- files ---------------------------------------------------------------------------

    def files(self) -> list[Path]:
        """Every regular file under the audited paths (VCS and dependency folders skipped)."""
        if self._files is None:
            self._files = list(self._walk())
        return self._files

    def dirs(self) -> Iterator[Path]:
        seen: set[Path] = set()
        for f in self.files():
            d = f.parent
            if d not in seen:
                seen.add(d)
                yield d

    def links(self) -> list[Link]:
        """The symlinks met under the audited paths (``prodshield.audit.links``), in walk order."""
        self.files()
        return self._links

    def _walk(self) -> Iterator[Path]:
        roots = [(r, _resolved(r)) for r in self.paths if r.exists()]
        walked: list[Path] = []
        for root in self.paths:
            if root.is_file():
                walked.append(root)
                continue
            if not root.is_dir():
                self.skipped.append(f"{root}: no such file or directory")
                continue
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [
                    d
                    for d in sorted(dirnames)
                    if d not in SKIP_DIRS and not self._link_or_excluded(Path(dirpath, d), roots)
                ]
                for name in sorted(filenames):
                    p = Path(dirpath, name)
                    if not self._link_or_excluded(p, roots) and p.is_file():
                        walked.append(p)  # a FIFO, socket or device in the tree is never read
        yield from walked
        yield from self._linked(walked, roots)

    def _link_or_excluded(self, p: Path, roots: list[tuple[Path, Path]]) -> bool:
        """True for a path the walk does not take as it is: excluded, or a symlink (noted)."""
        if p.is_symlink():
            self._link_paths.add(p)  # before relpath: a link is shown where it is, not resolved
            if not self._excluded(p):
                link = examine(p, [real for _, real in roots])
                self._links.append(link)
                note = skipped_note(link, self.relpath(p))
                if note:
                    self.skipped.append(note)
            return True
        return self._excluded(p)

    def _linked(self, walked: list[Path], roots: list[tuple[Path, Path]]) -> Iterator[Path]:
        """The regular files links lead to that the walk did not reach, each once: a file
        inside the tree at its real path (a link into a skipped folder), a file outside the
        tree under the first link's name."""
        files = [link for link in self._links if link.readable_file]
        if not files:
            return
        given = set(walked)
        seen: set[Path | None] = set()
        for link in files:
            if link.real in seen:
                continue
            seen.add(link.real)
            if link.state == "outside":
                yield link.path
                continue
            at = _as_walked(link.real, roots)
            if at is not None and at not in given and not self._excluded(at):
                yield at

    def _excluded(self, p: Path) -> bool:
        rel = self.relpath(p)
        return any(fnmatch(rel, pat) or fnmatch(p.name, pat) for pat in self.exclude)

    def read_text(self, p: Path) -> str | None:
        """The file's text, or None (counted as skipped) for binary, huge or unreadable files."""
        key = ("text", str(p))
        if key in self._cache:
            cached: str | None = self._cache[key]
            return cached
        text: str | None = None
        if live_database(p):  # never opened: closing it would drop the store's SQLite locks
            self._cache[key] = None
            return None
        try:
            raw = _read_regular(p)
            if raw is not None and b"\x00" not in raw[:8192]:
                text = raw.decode("utf-8", errors="replace")
        except OSError as exc:
            self.skipped.append(f"{p}: {exc.strerror or exc}")
        if text is None:
            self._cache[key] = None
        elif len(text) <= CACHE_TEXT_BYTES and self._cached_chars + len(text) <= CACHE_BUDGET_CHARS:
            self._cache[key] = text  # big files, and any past the budget, are re-read instead
            self._cached_chars += len(text)
        return text

    def cached_text_chars(self) -> int:
        """How much file text the run holds (bounded by ``CACHE_BUDGET_CHARS``)."""
        return self._cached_chars

    def cached(self, kind: str, key: str) -> Any:
        return self._cache.get((kind, key))

    def remember(self, kind: str, key: str, value: Any) -> None:
        self._cache[(kind, key)] = value

    # --- locations -------------------------------------------------------------------------

    def base(self) -> Path:
        """What report paths are relative to: the repository root, else the one audited
        folder, else the working directory."""
        if self._base is None:
            base = self.repo_root
            if base is None and len(self.paths) == 1 and self.paths[0].is_dir():
                base = self.paths[0]
            self._base = (base or Path.cwd()).resolve()
        return self._base

    def relpath(self, p: Path) -> str:
        """Path as shown in reports: relative to :meth:`base` when inside it."""
        key = ("rel", str(p))
        rel: str | None = self._cache.get(key)
        if rel is None:
            # a symlink is shown where it sits (its target may lie outside the tree)
            real = _resolved(p.parent) / p.name if p in self._link_paths else _resolved(p)
            try:
                rel = real.relative_to(self.base()).as_posix()
            except ValueError:
                rel = p.as_posix()
            self._cache[key] = rel
        return rel

    def fixpath(self, p: Path) -> str:
        """Path as a fix command names it: from :attr:`fix_from` when set (relative inside it,
        else absolute), else as reports show it."""
        if self.fix_from is None:
            return self.relpath(p)
        where = Path(os.path.abspath(p))
        try:
            return where.relative_to(os.path.abspath(self.fix_from)).as_posix()
        except ValueError:
            return where.as_posix()

    def hits(self, rule: Any, subject: Any, where: Path | str) -> list[Any]:
        """Run one rule on one subject; a rule that breaks on odd input is noted, not fatal."""
        try:
            return list(rule.check(subject, self))
        except Exception as exc:  # the error boundary of one rule on one input
            shown = self.relpath(where) if isinstance(where, Path) else where
            self.skipped.append(f"{shown}: rule {rule.type} failed: {type(exc).__name__}: {exc}")
            return []

    def finding(
        self,
        rule: Any,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        target: str | None = None,
        key: str = "",
        fix: str | None = None,
        severity: Severity | None = None,
        fingerprint_override: str | None = None,
        live: bool = False,
        secret_id: str | None = None,
    ) -> AuditFinding:
        rel = self.relpath(path) if path is not None else None
        return AuditFinding(
            family=rule.family,
            rule=rule.type,
            severity=severity or rule.severity,
            title=rule.title,
            message=message,
            fix=fix or rule.fix,
            fingerprint=fingerprint_override or fingerprint(rule.type, rel, target, key),
            path=rel,
            line=line,
            target=target,
            live=live,
            secret_id=secret_id,
        )


def _resolved(p: Path) -> Path:
    """``p`` made absolute with its symlinks followed; a symlink loop (``a -> b -> a``, ``self ->
    self``) is kept as it stands (made absolute), so the audit names it instead of stopping."""
    try:
        return p.resolve()
    except (RuntimeError, OSError):  # RuntimeError before Python 3.13, OSError(ELOOP) after
        return Path(os.path.abspath(p))


def _read_regular(p: Path) -> bytes | None:
    """The bytes of ``p`` if it is a regular file of at most ``MAX_FILE_BYTES``, else None.
    Opened without blocking and checked on the open descriptor: a file swapped for a FIFO
    after the walk (a link's target outside the tree) cannot hang the run."""
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)


def _as_walked(real: Path | None, roots: list[tuple[Path, Path]]) -> Path | None:
    """``real`` (a resolved path) as the walk names it: under the audited root as it was given."""
    for given, resolved in roots:
        if real == resolved:
            return given
        if real is not None and resolved in real.parents:
            return given / real.relative_to(resolved)
    return None
