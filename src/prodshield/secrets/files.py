"""Scanning files and trees: .gitignore, gz logs, binary skip, test-fixture paths, bounded memory."""

from __future__ import annotations

import errno
import fnmatch
import gzip
import os
import stat
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from prodshield.secrets.engine import Scanner, ScanSettings, rule_set
from prodshield.secrets.finding import SecretFinding
from prodshield.secrets.links import Link, examine
from prodshield.secrets.rules.base import SecretRule
from prodshield.secrets.rules.custom import custom_rules

if TYPE_CHECKING:
    from prodshield.config.capabilities import AuditConfig

CHUNK = 1 << 22  # 4 MiB of text per block: memory stays flat whatever the file size
BINARY_SUFFIXES = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".ico",
        ".bmp",
        ".tiff",
        ".pdf",
        ".zip",
        ".tar",
        ".tgz",
        ".bz2",
        ".xz",
        ".7z",
        ".rar",
        ".jar",
        ".war",
        ".class",
        ".so",
        ".dylib",
        ".dll",
        ".exe",
        ".bin",
        ".o",
        ".a",
        ".pyc",
        ".pyo",
        ".whl",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".mov",
        ".avi",
        ".webm",
        ".ogg",
        ".wav",
        ".flac",
        ".sqlite",
        ".db",
        ".parquet",
        ".avro",
        ".orc",
        ".pickle",
        ".pkl",
        ".npy",
        ".npz",
    ]
)
TEST_DIRS = ("test", "tests", "__tests__", "testdata", "test-data", "fixtures", "__fixtures__",
             "spec", "specs", "__mocks__", "mocks")  # fmt: skip


@dataclass(frozen=True)
class ScanConfig:
    """Which files a scan reads and which findings it keeps."""

    exclude: tuple[str, ...] = ()
    """Glob patterns (matched against the relative path and each of its suffixes)."""
    allow_paths: tuple[str, ...] = ()
    """Glob patterns (as ``exclude``) of files whose findings are never reported: the files are
    read and what they hold is counted (``allowed_config``), never silent."""
    allow_rules: frozenset[str] = frozenset()
    include_tests: bool = False
    test_dirs: tuple[str, ...] = TEST_DIRS
    min_confidence: float = 0.5
    max_file_bytes: int | None = None
    engine: str = "auto"
    """Prefilter engine (see `prodshield.secrets.prefilter`)."""
    rules: tuple[SecretRule, ...] = ()
    strict: bool = False
    """Inline allow comments are ignored (``--strict``)."""
    """The user's own rules (shield.yaml ``audit.secrets.rules``), run beside the shipped ones."""
    counters: dict[str, int] = field(default_factory=dict, compare=False)
    errors: list[str] = field(default_factory=list, compare=False)
    values: dict[str, tuple[str, str]] | None = field(default=None, compare=False, repr=False)
    """Where scanners keep ``secret_id -> (rule, value)`` for live verification (None: not kept)."""

    @classmethod
    def from_audit(
        cls, audit: AuditConfig | None, *, include_tests: bool = False, strict: bool = False
    ) -> ScanConfig:
        """The scan settings a shield.yaml ``audit:`` section asks for (None: defaults)."""
        if audit is None:
            return cls(include_tests=include_tests, strict=strict)
        sec = audit.secrets
        return cls(
            exclude=tuple(audit.exclude),
            allow_paths=tuple(sec.allow_paths),
            allow_rules=frozenset((*audit.allow_rules, *sec.allow_rules)),
            include_tests=include_tests or sec.include_tests,
            test_dirs=tuple(sec.test_dirs) if sec.test_dirs is not None else TEST_DIRS,
            min_confidence=sec.min_confidence,
            rules=custom_rules(sec.rules),
            strict=strict,
        )

    def scanner(self) -> Scanner:
        return Scanner(
            rules=rule_set(self.rules),
            settings=ScanSettings(
                allow_rules=self.allow_rules,
                min_confidence=self.min_confidence,
                engine=self.engine,
                honour_allow_comments=not self.strict,
            ),
            values=self.values,
            counters=self.counters,
        )


def _count(config: ScanConfig, key: str) -> None:
    config.counters[key] = config.counters.get(key, 0) + 1


def is_test_path(rel: str, test_dirs: Iterable[str] = TEST_DIRS) -> bool:
    """True when a directory of the path says it holds tests or fixtures."""
    return _in_dirs(rel, frozenset(d.lower() for d in test_dirs))


def _in_dirs(rel: str, dirs: frozenset[str]) -> bool:
    return any(part.lower() in dirs for part in rel.replace("\\", "/").split("/")[:-1])


def matches_any(rel: str, patterns: Iterable[str]) -> bool:
    """Does a relative path match one of the glob ``patterns`` (``exclude``, ``allow_paths``:
    the path or one of its suffixes)?"""
    return _excluded(rel, patterns)


def _excluded(rel: str, patterns: Iterable[str]) -> bool:
    rel = rel.replace("\\", "/")
    parts = rel.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatch(rel, pattern) or any(
            fnmatch.fnmatch("/".join(parts[i:]), pattern) for i in range(1, len(parts))
        ):
            return True
        if any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


def _git_names(root: Path) -> list[str] | None:
    """Files git would track under root (tracked + untracked, .gitignore honoured), relative to
    root, or None when git cannot say."""
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return [n for n in out.stdout.decode("utf-8", "surrogateescape").split("\0") if n]


def _git_files(root: Path) -> list[Path] | None:
    """Files git would track under root (tracked + untracked, .gitignore honoured), or None."""
    names = _git_names(root)
    return None if names is None else [root / n for n in names]


def _simple_ignores(root: Path) -> list[str]:
    try:
        lines = (root / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith(("#", "!"))]


def _regular(path: str) -> bool:
    """A regular file, not reached through a symlink (one ``lstat``)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def walk(
    root: Path, *, respect_gitignore: bool = True, links: list[tuple[str, str]] | None = None
) -> Iterator[tuple[str, str]]:
    """``(path, path relative to root)`` of every regular file under root, as strings, in the
    order of `iter_files`: the tree walk of a scan, without a ``Path`` object per file. The
    symlinks met (never followed here) are appended to ``links`` as ``(path, relative)``."""
    base = str(root)
    if root.is_file():
        yield base, root.name
        return
    if respect_gitignore:
        names = _git_names(root)
        if names is not None:
            for name in sorted(names, key=lambda n: n.split("/")):  # as Path objects sort
                full = os.path.join(base, name)
                if _regular(full):
                    yield full, name
                elif links is not None and os.path.islink(full):
                    links.append((full, name))
            return
    ignores = _simple_ignores(root) if respect_gitignore else []
    stack = [(base, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as entries:
                listing = sorted(entries, key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        for entry in listing:
            rel = prefix + entry.name
            if ignores and _excluded(rel, ignores):
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name != ".git":
                    stack.append((entry.path, rel + os.sep))
            elif entry.is_file(follow_symlinks=False):
                # Regular files only (no symlinks): a FIFO or a device would block or never end.
                yield entry.path, rel
            elif links is not None and entry.is_symlink():
                links.append((entry.path, rel))


def linked(
    root: Path, links: list[tuple[str, str]], walked: set[str]
) -> Iterator[tuple[str, str, Link]]:
    """``(path to read, name to show relative to root, link)`` for the regular files the
    symlinks under ``root`` lead to, each once (docs/audit.md, "Symlinks"): a file inside the
    tree at its real path unless the walk gave it already (``walked``: its relative names), a
    file outside the tree under the link's name. Links to anything else (a folder, a FIFO, a
    device, ``/proc`` or ``/sys``, nowhere) are yielded with an empty path: never read."""
    try:
        real_root = root.resolve(strict=True)
    except (OSError, RuntimeError):
        return
    seen: set[Path] = set()
    for full, rel in sorted(links, key=lambda pair: pair[1].split(os.sep)):  # the first name wins
        link = examine(Path(full), [real_root])
        if not link.readable_file or link.real is None:
            yield "", rel, link
            continue
        if link.real in seen:
            continue
        seen.add(link.real)
        if link.state == "outside":
            yield full, rel, link
            continue
        inner = str(link.real.relative_to(real_root))
        if inner not in walked:
            yield os.path.join(str(root), inner), inner, link


def iter_files(root: Path, *, respect_gitignore: bool = True) -> Iterator[Path]:
    """Every regular file under root; with .gitignore honoured (via git when available)."""
    for full, _ in walk(root, respect_gitignore=respect_gitignore):
        yield Path(full)


class _OwnGzip(gzip.GzipFile):
    """A gzip stream that closes the file it decompresses."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def open_binary(path: Path | str) -> IO[bytes]:
    """A byte stream for a regular file; ``.gz`` files are decompressed on the fly. Opened
    without blocking and checked on the open descriptor: a FIFO or a device (a file swapped
    after the walk, a link's target) raises ``OSError`` instead of hanging the scan."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file, not read", os.fspath(path))
        raw = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    if os.path.splitext(os.fspath(path))[1] == ".gz":
        return cast(IO[bytes], _OwnGzip(raw))
    return raw


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def live_database(path: Path | str) -> bool:
    """A SQLite database in use (or one of its -wal/-shm/-journal files), judged by name only.

    Such a file must never be opened by a process that may hold the database itself (``serve``
    auditing a tree that holds its store): closing any descriptor of the file drops every POSIX
    lock the process holds on it, and SQLite then deletes the WAL under the running connection and
    corrupts the store. It is binary anyway, so nothing is lost by not reading it; its mode is
    still judged (by ``stat``).
    """
    full = os.fspath(path)
    if full.endswith(SQLITE_SIDE_FILES):
        return True
    return any(os.path.exists(full + side) for side in SQLITE_SIDE_FILES[:2])


def looks_binary(path: Path | str) -> bool:
    """Binary by name (or a live SQLite database, never opened); content (a NUL in the first
    8 KiB) is checked by `scan_stream`."""
    full = os.fspath(path)
    suffix = os.path.splitext(full)[1].lower()
    return suffix in BINARY_SUFFIXES or live_database(full)


class BinaryContent(Exception):
    """The stream holds binary data (a NUL byte early on): not scanned."""


def iter_blocks(stream: IO[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """Blocks of whole lines of about `size` bytes (a line longer than 1 MiB is cut)."""
    while True:
        block = stream.read(size)
        if not block:
            return
        if not block.endswith(b"\n"):
            block += stream.readline(1 << 20)
        yield block


def scan_stream(
    stream: IO[bytes], *, path: str | None, scanner: Scanner, first_line: int = 1
) -> Iterator[SecretFinding]:
    """Scan a byte stream block by block (memory bounded by the block size)."""
    line = first_line
    for index, block in enumerate(iter_blocks(stream)):
        if index == 0 and b"\0" in block[:8192]:
            raise BinaryContent(path)
        yield from scanner.iter_block(block, path=path, first_line=line)
        line += block.count(b"\n")


def scan_file(
    path: Path | str, *, display: str | None = None, scanner: Scanner | None = None
) -> Iterator[SecretFinding]:
    scanner = scanner or ScanConfig().scanner()
    with open_binary(path) as stream:
        yield from scan_stream(stream, path=display or os.fspath(path), scanner=scanner)


def scan_paths(
    paths: Iterable[str | Path],
    *,
    respect_gitignore: bool = True,
    include_tests: bool = False,
    config: ScanConfig | None = None,
    scanner: Scanner | None = None,
    also: Callable[[str, str, Scanner], Iterable[SecretFinding]] | None = None,
) -> Iterator[SecretFinding]:
    """Scan files and directory trees; paths in findings are as given (directories: joined).
    ``scanner`` (default: the config's) is built once for every file of every path.

    ``also(full, shown, scanner)``: more findings for each file the walk scanned (the same file
    selection), reported unless the engine already reported that line (``audit secrets`` adds
    the audit's ``.env`` judgment this way)."""
    config = config or ScanConfig(include_tests=include_tests)
    include_tests = include_tests or config.include_tests
    scanner = scanner or config.scanner()
    test_dirs = frozenset(d.lower() for d in config.test_dirs)

    def one(full: str, rel: str, shown: str) -> Iterator[SecretFinding]:
        if config.exclude and _excluded(rel, config.exclude):
            _count(config, "excluded")
        elif not include_tests and _in_dirs(rel, test_dirs):
            _count(config, "test_paths_skipped")
        elif config.allow_paths and _excluded(rel, config.allow_paths):
            found = list(_scan_one(full, shown, config, scanner))
            seen = {f.line for f in found}
            if also is not None:
                found += [f for f in also(full, shown, scanner) if f.line not in seen]
            if found:  # allowed by shield.yaml: counted, not reported
                config.counters["allowed_config"] = config.counters.get("allowed_config", 0) + len(
                    found
                )
        elif also is None:
            yield from _scan_one(full, shown, config, scanner)
        else:
            found = list(_scan_one(full, shown, config, scanner))
            yield from found
            seen = {f.line for f in found}
            yield from (f for f in also(full, shown, scanner) if f.line not in seen)

    for given in paths:
        root = Path(given)
        if not root.exists():
            _count(config, "missing")
            continue
        single = root.is_file()
        links: list[tuple[str, str]] = []
        walked: set[str] = set()
        for full, rel in walk(root, respect_gitignore=respect_gitignore, links=links):
            walked.add(rel)
            yield from one(full, rel, str(given) if single else os.path.join(str(given), rel))
        for full, rel, link in linked(root, links, walked):
            shown = os.path.join(str(given), rel)
            if full:
                yield from one(full, rel, shown)
            elif link.state == "inside" and link.kind == "directory":
                continue  # the walk reads that folder where it is
            elif link.state in ("outside", "inside"):
                _count(config, "links_not_read")
                config.errors.append(f"{shown}: {_not_read(link)}")
            else:
                _count(config, "links_not_followed")  # dangling, a loop


def _not_read(link: Link) -> str:
    """Why a link's target is not scanned (it is no regular file)."""
    if link.kind == "directory":
        return "symlink to a folder outside the tree, not walked"
    if link.kind == "unknown":
        return "symlink to something that cannot be examined, not read"
    return f"symlink to a {link.kind}, not read"


def _scan_one(
    full: str, shown: str, config: ScanConfig, scanner: Scanner
) -> Iterator[SecretFinding]:
    """One file of a walk, read (without blocking) unless binary or too large."""
    if looks_binary(full):
        _count(config, "binary_skipped")
        return
    try:
        if config.max_file_bytes and os.stat(full).st_size > config.max_file_bytes:
            _count(config, "too_large")
            return
        yield from scan_file(full, display=shown, scanner=scanner)
        _count(config, "files")
    except BinaryContent:
        _count(config, "binary_skipped")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        _count(config, "unreadable")
        config.errors.append(f"{shown}: {exc}")
