"""Scanning a repository's history: every line added by every commit, oldest first."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path

from prodshield.errors import Invalid
from prodshield.secrets.engine import Scanner, default_scanner
from prodshield.secrets.finding import SecretFinding

_COMMIT = "\x1ecommit "
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def resolve_commit(repo: str | Path, rev: str) -> str:
    """The full commit id `rev` names in `repo`, or an ``Invalid`` error."""
    if not rev or rev.startswith("-"):
        raise Invalid(f"{rev!r}: not a commit (a revision cannot start with '-')")
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Invalid(f"cannot run git in {repo}: {exc}") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        raise Invalid(f"{repo}: {rev!r} is not a commit in this repository")
    return proc.stdout.strip()


def commit_range(
    repo: str | Path, *, since_commit: str | None = None, revision_range: str | None = None
) -> str:
    """The `git log` revision for ``--since-commit REV`` (REV..HEAD: the commits after REV)
    or ``--range A..B`` (commits reachable from B and not from A, as a pull request holds);
    both ends are checked and resolved to commit ids, so nothing the user typed reaches git as
    an option. "--all" when neither is given."""
    if since_commit and revision_range:
        raise Invalid("--since-commit and --range: give one or the other")
    if since_commit:
        return f"{resolve_commit(repo, since_commit)}..{resolve_commit(repo, 'HEAD')}"
    if revision_range:
        base, sep, tip = revision_range.partition("..")
        if not sep or not base or not tip or tip.startswith("."):
            raise Invalid(f"--range: expected BASE..TIP (two dots), not {revision_range!r}")
        return f"{resolve_commit(repo, base)}..{resolve_commit(repo, tip)}"
    return "--all"


def _block_findings(
    scanner: Scanner,
    text: bytes,
    path: str,
    first_line: int,
    also: Callable[[bytes, str, Scanner, int], Iterable[SecretFinding]] | None,
) -> Iterable[SecretFinding]:
    """The findings in one run of added lines: the engine's, then ``also``'s."""
    found = scanner.iter_block(text, path=path, first_line=first_line)
    return found if also is None else chain(found, also(text, path, scanner, first_line))


def scan_git_history(
    repo: str | Path,
    *,
    scanner: Scanner | None = None,
    rev: str = "--all",
    timeout: float = 600.0,
    also: Callable[[bytes, str, Scanner, int], Iterable[SecretFinding]] | None = None,
) -> Iterator[SecretFinding]:
    """Findings in lines added anywhere in history, each with its commit and author.

    A secret that stays in later commits is reported once, at the commit that introduced it.
    ``also(text, path, scanner, first_line)``: more findings in each run of added lines of a file
    (the audit's env-file rule, as ``scan_paths``'s ``also`` gives them for the tree).
    """
    scanner = scanner or default_scanner()
    cmd = [
        "git", "-C", str(repo), "log", rev, "--reverse", "-p", "--no-color", "--no-ext-diff",
        "--unified=0", "--no-renames", f"--format={_COMMIT}%H%x1f%an <%ae>",
    ]  # fmt: skip
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise Invalid(f"cannot run git: {exc.strerror}") from exc
    assert proc.stdout is not None
    seen: set[str] = set()
    commit = author = ""
    path: str | None = None
    block: list[bytes] = []
    block_start = 0
    next_line = 0

    def flush() -> Iterator[SecretFinding]:
        if block and path is not None:
            text = b"\n".join(block) + b"\n"
            for finding in _block_findings(scanner, text, path, block_start, also):
                key = finding.fingerprint
                if key in seen:
                    continue
                seen.add(key)
                yield finding.with_location(commit=commit, author=author)
        block.clear()

    try:
        for raw in proc.stdout:
            line = raw.rstrip(b"\n")
            if line.startswith(b"\x1ecommit "):
                yield from flush()
                head = line[len(_COMMIT) :].decode("utf-8", "replace")
                commit, _, author = head.partition("\x1f")
                path = None
            elif line.startswith(b"+++ "):
                yield from flush()
                target = line[4:].decode("utf-8", "replace")
                path = (
                    None
                    if target == "/dev/null"
                    else target[2:]
                    if target.startswith("b/")
                    else target
                )
            elif line.startswith(b"@@"):
                yield from flush()
                match = _HUNK.match(line)
                next_line = int(match.group(1)) if match else 0
                block_start = next_line
            elif line.startswith(b"+"):
                if not block:
                    block_start = next_line
                block.append(line[1:])
                next_line += 1
            elif line.startswith((b"-", b"\\")):
                continue
        yield from flush()
    finally:
        proc.stdout.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.returncode not in (0, None, -9):
        err = proc.stderr.read().decode("utf-8", "replace").strip() if proc.stderr else ""
        raise Invalid(
            f"git log failed in {repo}: {err.splitlines()[-1] if err else proc.returncode}"
        )
