"""Technical debt: TODO/FIXME/HACK/XXX/BUG markers in comments, with git-blame authors and age.

Fast on large repositories: ``git grep`` finds candidate lines, a small per-language lexer keeps only
markers inside comments (not strings), and one ``git blame --porcelain`` per file with several
``-L`` ranges attributes all of a file's markers at once.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import time
import tokenize
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MARKERS = ("TODO", "FIXME", "HACK", "XXX", "BUG")
_MARKER_RE = re.compile(r"\b(TODO|FIXME|HACK|XXX|BUG)\b[:(\s]?")
_GREP_PATTERN = r"\b(TODO|FIXME|HACK|XXX|BUG)\b"


@dataclass(frozen=True)
class Syntax:
    line: tuple[str, ...]
    block: tuple[tuple[str, str], ...]
    strings: tuple[str, ...]


_C = Syntax(("//",), (("/*", "*/"),), ('"', "'", "`"))
_HASH = Syntax(("#",), (), ('"', "'"))
_SQL = Syntax(("--",), (("/*", "*/"),), ("'", '"'))
_XML = Syntax((), (("<!--", "-->"),), ())
_LUA = Syntax(("--",), (("--[[", "]]"),), ('"', "'"))

LANGUAGES: dict[str, Syntax] = {
    **dict.fromkeys(
        (
            ".c",
            ".h",
            ".cc",
            ".cpp",
            ".hpp",
            ".java",
            ".js",
            ".jsx",
            ".ts",
            ".tsx",
            ".go",
            ".rs",
            ".cs",
            ".kt",
            ".swift",
            ".scala",
            ".php",
            ".css",
            ".scss",
            ".less",
            ".dart",
            ".m",
            ".groovy",
        ),
        _C,
    ),
    **dict.fromkeys(
        (
            ".sh",
            ".bash",
            ".zsh",
            ".rb",
            ".pl",
            ".r",
            ".yaml",
            ".yml",
            ".toml",
            ".tf",
            ".conf",
            ".cfg",
            ".ini",
            ".dockerfile",
            ".mk",
            ".cmake",
            ".ps1",
            ".nim",
            ".ex",
            ".exs",
            ".coffee",
        ),
        _HASH,
    ),
    ".sql": _SQL,
    **dict.fromkeys((".html", ".htm", ".xml", ".vue", ".svg", ".md"), _XML),
    ".lua": _LUA,
    ".hs": Syntax(("--",), (("{-", "-}"),), ('"',)),
}
SPECIAL_NAMES = {"Dockerfile": _HASH, "Makefile": _HASH, "Rakefile": _HASH, "Gemfile": _HASH}


@dataclass
class DebtItem:
    path: str
    line: int
    marker: str
    text: str
    author: str | None = None
    email: str | None = None
    commit: str | None = None
    committed_at: float | None = None
    age_days: float | None = None
    uncommitted: bool = False
    """The line is not committed yet (``git blame`` gives it no commit): no author, no age."""

    @property
    def who(self) -> str:
        """The author as the tables print it: ``uncommitted`` for a line git has no commit of,
        ``unknown`` where there is no blame (not a git repository)."""
        return self.author or ("uncommitted" if self.uncommitted else "unknown")

    @property
    def fingerprint(self) -> str:
        normal = re.sub(r"\s+", " ", self.text.strip().lower())
        return hashlib.sha1(f"{self.path}\0{self.marker}\0{normal}".encode()).hexdigest()[:16]


@dataclass
class DebtReport:
    repo: str
    items: list[DebtItem]
    files_scanned: int
    seconds: float
    added: list[DebtItem] | None = None
    removed: list[dict[str, Any]] | None = None

    def by(self, key: str) -> list[tuple[str, int]]:
        if key == "author":
            return Counter(i.who for i in self.items).most_common()
        return Counter(str(getattr(i, key) or "unknown") for i in self.items).most_common()

    def oldest(self, top: int) -> list[DebtItem]:
        """The oldest ``top`` items; lines not committed yet (the newest of all) come last."""
        return sorted(self.items, key=lambda i: (i.uncommitted, -(i.age_days or 0)))[:top]

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "total": len(self.items),
            "files_scanned": self.files_scanned,
            "seconds": round(self.seconds, 3),
            "by_marker": dict(self.by("marker")),
            "by_author": dict(self.by("author")),
            "by_file": dict(self.by("path")),
            "items": [asdict(i) | {"fingerprint": i.fingerprint} for i in self.items],
            "delta": None
            if self.added is None
            else {
                "added": [asdict(i) for i in self.added],
                "removed": self.removed or [],
            },
        }


def syntax_for(path: str) -> Syntax | None:
    p = Path(path)
    if p.suffix == ".py" or p.suffix == ".pyi":
        return None  # handled by the tokenize module
    return SPECIAL_NAMES.get(p.name) or LANGUAGES.get(p.suffix.lower())


def supported(path: str) -> bool:
    p = Path(path)
    return p.suffix in (".py", ".pyi") or syntax_for(path) is not None


def comment_markers(path: str, text: str) -> list[tuple[int, str, str]]:
    """(line, marker, comment text) for every marker inside a comment of ``text``."""
    if Path(path).suffix in (".py", ".pyi"):
        return _python_markers(text)
    syntax = syntax_for(path)
    if syntax is None:
        return []
    return _lex_markers(text, syntax)


def _python_markers(text: str) -> list[tuple[int, str, str]]:
    out: list[tuple[int, str, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                for m in _MARKER_RE.finditer(tok.string):
                    out.append((tok.start[0], m.group(1), tok.string.lstrip("#").strip()))
                    break
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _lex_markers(text, _HASH)
    return out


def _lex_markers(text: str, syntax: Syntax) -> list[tuple[int, str, str]]:
    """A small lexer: tracks strings and block comments across lines."""
    out: list[tuple[int, str, str]] = []
    in_block: str | None = None  # the closing token of the open block comment
    for lineno, line in enumerate(text.splitlines(), start=1):
        i, n = 0, len(line)
        comment_parts: list[str] = []
        in_string: str | None = None
        while i < n:
            if in_block is not None:
                end = line.find(in_block, i)
                if end < 0:
                    comment_parts.append(line[i:])
                    i = n
                else:
                    comment_parts.append(line[i:end])
                    i = end + len(in_block)
                    in_block = None
                continue
            ch = line[i]
            if in_string is not None:
                if ch == "\\":
                    i += 2
                    continue
                if ch == in_string:
                    in_string = None
                i += 1
                continue
            opened = _block_opener(line, i, syntax)
            if opened is not None:
                in_block, i = opened
                continue
            if any(line.startswith(tok, i) for tok in syntax.line):
                comment_parts.append(line[i:])
                break
            if ch in syntax.strings:
                in_string = ch
            i += 1
        # a template literal (`) left open ends with its line: the rest of the line was string
        marker = _first_marker(comment_parts)
        if marker is not None:
            out.append((lineno, *marker))
    return out


def _block_opener(line: str, i: int, syntax: Syntax) -> tuple[str, int] | None:
    """(the closing token, the position after the opener) when a block comment opens at ``i``."""
    for opener, closer in syntax.block:
        if line.startswith(opener, i):
            return closer, i + len(opener)
    return None


def _first_marker(comment_parts: list[str]) -> tuple[str, str] | None:
    """(the marker, the comment's text) of the first comment part holding a marker."""
    for part in comment_parts:
        m = _MARKER_RE.search(part)
        if m:
            return m.group(1), part.strip().lstrip("/#*-!<").strip()
    return None


def _git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=600,
    )
    if check and proc.returncode not in (0, 1):
        raise RuntimeError(
            proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "git failed"
        )
    return proc.stdout


def _candidate_files(repo: Path) -> dict[str, list[int]]:
    """Files (tracked, supported) whose lines mention a marker, from one ``git grep``."""
    out = _git(repo, "grep", "-n", "-I", "-E", "--no-color", _GREP_PATTERN)
    hits: dict[str, list[int]] = defaultdict(list)
    for row in out.splitlines():
        parts = row.split(":", 2)
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        if supported(parts[0]):
            hits[parts[0]].append(int(parts[1]))
    return hits


def _blame(repo: Path, path: str, lines: list[int]) -> dict[int, tuple[str, str, str, float]]:
    """line -> (author, email, commit, committed_at) with one blame call for all lines."""
    args = ["blame", "--porcelain"]
    for ln in sorted(set(lines)):
        args += ["-L", f"{ln},{ln}"]
    out = _git(repo, *args, "--", path, check=False)
    result: dict[int, tuple[str, str, str, float]] = {}
    commits: dict[str, dict[str, str]] = {}
    current: str | None = None
    final_line = 0
    for row in out.splitlines():
        if row.startswith("\t"):
            if current is not None:
                info = commits.get(current, {})
                result[final_line] = (
                    info.get("author", "unknown"),
                    info.get("author-mail", "").strip("<>"),
                    current,
                    float(info.get("committer-time", "0") or 0),
                )
            continue
        parts = row.split(" ")
        if (
            len(parts) >= 3
            and len(parts[0]) == 40
            and all(c in "0123456789abcdef" for c in parts[0])
        ):
            current = parts[0]
            final_line = int(parts[2])
            commits.setdefault(current, {})
        elif current is not None and " " in row:
            key, value = row.split(" ", 1)
            commits[current][key] = value
    return result


def _single_commit_files(repo: Path, wanted: set[str]) -> dict[str, tuple[str, str, str, float]]:
    """Files touched by exactly one commit and unchanged in the work tree: every line of such a
    file belongs to that commit, so no blame is needed. One ``git log`` pass finds them."""
    out = _git(
        repo,
        "log",
        "--no-renames",
        "--format=%x01%H%x00%an%x00%ae%x00%ct",
        "--name-only",
        "HEAD",
        check=False,
    )
    touched: dict[str, int] = defaultdict(int)
    first_seen: dict[str, tuple[str, str, str, float]] = {}
    current: tuple[str, str, str, float] | None = None
    for row in out.splitlines():
        if row.startswith("\x01"):
            parts = row[1:].split("\x00")
            if len(parts) == 4:
                current = (parts[1], parts[2], parts[0], float(parts[3] or 0))
            continue
        if row and current is not None and row in wanted:
            touched[row] += 1
            first_seen.setdefault(row, current)
    dirty = {
        line[3:]
        for line in _git(repo, "status", "--porcelain", check=False).splitlines()
        if len(line) > 3
    }
    return {p: first_seen[p] for p, n in touched.items() if n == 1 and p not in dirty}


def scan_repo(repo: str | Path, *, workers: int = 4, now: float | None = None) -> DebtReport:
    """Find every debt marker in comments of the tracked files of ``repo`` and attribute it."""
    started = time.perf_counter()
    root = Path(_git(Path(repo), "rev-parse", "--show-toplevel").strip() or repo)
    now = time.time() if now is None else now
    candidates = _candidate_files(root)
    single = _single_commit_files(root, set(candidates))
    files_total = len(_git(root, "ls-files").splitlines())

    def work(path: str) -> list[DebtItem]:
        try:
            text = (root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        found = comment_markers(path, text)
        if not found:
            return []
        if path in single:
            blame = dict.fromkeys((ln for ln, _, _ in found), single[path])
        else:
            blame = _blame(root, path, [ln for ln, _, _ in found])
        items = []
        for ln, marker, comment in found:
            info = blame.get(ln)
            author, email, commit, at = info if info else (None, None, None, None)
            uncommitted = commit is not None and set(commit) == {"0"}
            items.append(
                DebtItem(
                    path,
                    ln,
                    marker,
                    comment[:300],
                    None if uncommitted else author,
                    None if uncommitted else email,
                    None if uncommitted else commit,
                    None if uncommitted else at,
                    None if uncommitted or not at else round((now - at) / 86400, 1),
                    uncommitted,
                )
            )
        return items

    items: list[DebtItem] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for chunk in pool.map(work, sorted(candidates)):
            items.extend(chunk)
    return DebtReport(str(root), items, files_total, time.perf_counter() - started)


def diff_against(report: DebtReport, previous: Iterable[dict[str, Any]] | None) -> None:
    """Fill ``report.added``/``removed`` against a previous run's items (by fingerprint)."""
    if previous is None:
        return
    prev = {p["fingerprint"]: p for p in previous}
    now_fp = {i.fingerprint for i in report.items}
    report.added = [i for i in report.items if i.fingerprint not in prev]
    report.removed = [p for fp, p in prev.items() if fp not in now_fp]


def save_snapshot(store: Any, report: DebtReport) -> None:
    """Keep this run's items so the next run can report the delta."""
    from prodshield.store import tables as t

    items = [
        {
            "fingerprint": i.fingerprint,
            "path": i.path,
            "line": i.line,
            "marker": i.marker,
            "text": i.text,
            "author": i.author,
        }
        for i in report.items
    ]
    with store.begin() as conn:
        conn.execute(
            t.debt_snapshots.insert().values(repo=report.repo, taken_at=time.time(), items=items)
        )


def last_snapshot(store: Any, repo: str) -> list[dict[str, Any]] | None:
    from sqlalchemy import desc, select

    from prodshield.store import tables as t

    with store.connect() as conn:
        row = conn.execute(
            select(t.debt_snapshots.c["items"])
            .where(t.debt_snapshots.c.repo == repo)
            .order_by(desc(t.debt_snapshots.c.id))
            .limit(1)
        ).first()
    return None if row is None else list(row[0])
