"""What one audit run looks at and the knobs its rules read."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from prodshield.audit.finding import AuditFinding, Severity, fingerprint
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
    skipped: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    """TLS endpoints (``host:port``) that could not be reached, so were not graded."""
    tls_graded: int = 0
    """TLS endpoints and certificate files the TLS rules graded."""
    _files: list[Path] | None = None
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

    def _walk(self) -> Iterator[Path]:
        for root in self.paths:
            if root.is_file():
                yield root
                continue
            if not root.is_dir():
                self.skipped.append(f"{root}: no such file or directory")
                continue
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(
                    d
                    for d in dirnames
                    if d not in SKIP_DIRS and not self._excluded(Path(dirpath, d))
                )
                for name in sorted(filenames):
                    p = Path(dirpath, name)
                    if self._excluded(p) or p.is_symlink() or not p.is_file():
                        continue
                    yield p

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
            if p.stat().st_size <= MAX_FILE_BYTES:
                raw = p.read_bytes()
                if b"\x00" not in raw[:8192]:
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
            try:
                rel = _resolved(p).relative_to(self.base()).as_posix()
            except ValueError:
                rel = p.as_posix()
            self._cache[key] = rel
        return rel

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
