"""Journey: on a narrow terminal (``COLUMNS=60``) the CLI's tables stay readable. Rich folded a
key it could not fit (``db_connection_failu`` / ``re``) and `logs scan`'s source column cut long
hostnames mid-word (``…eu-west-3.prod.in`` / ``ternal.example.com/postg``, the path also cut at
60 characters without a mark), and `audit` drew its report 80 columns wide whatever $COLUMNS
said. Now a cell wraps between words, a word too long for its column breaks only after a
separator (``_ - . / : @ =``, never between two digits), and what is cut shows ``…``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support import secrets_tokens as tok
from support.cli import prodshield, shell_env

HOST = "db-primary-01.eu-west-3.prod.internal.example.com"
SEPARATORS = set("_-./:@=,;|\\")
TIME = re.compile(r"^(\d\d-\d\d|\d\d:\d\d)$")


def _logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs" / HOST
    folder.mkdir(parents=True)
    lines = []
    for i in range(20):
        lines += [
            f"Dec  7 00:{i:02d}:01 {HOST} postgres[123]: FATAL:  could not connect to server: "
            "Connection refused",
            f"Dec  7 00:{i:02d}:02 {HOST} sshd[99]: Failed password for root from 203.0.113.{i} "
            f"port 52{i:03d} ssh2",
            f"Dec  7 00:{i:02d}:03 {HOST} kernel: Out of memory: Killed process 31337 (java)",
        ]
    log = folder / "postgresql-and-system.log"
    log.write_text("\n".join(lines) + "\n")
    return log


def _whole_or_broken_at_separators(token: str, vocabulary: set[str]) -> bool:
    """``token`` is a word of the data, or a piece of one that ends (or starts) at a separator,
    or a word cut with ``…``."""
    if token in vocabulary or TIME.match(token):
        return True
    if token.endswith("\u2026"):
        return any(w.startswith(token[:-1]) for w in vocabulary)
    if token.startswith("\u2026"):  # a long path keeps its end
        piece = token[1:]
        return any(
            piece in w and (piece[-1] in SEPARATORS or w.endswith(piece)) for w in vocabulary
        )
    for word in vocabulary:
        at = word.find(token)
        while at >= 0:
            starts = at == 0 or word[at - 1] in SEPARATORS
            ends = at + len(token) == len(word) or token[-1] in SEPARATORS
            if starts and ends:
                return True
            at = word.find(token, at + 1)
    return False


@pytest.mark.parametrize("columns", [60, 100, 130])
def test_logs_scan_never_splits_a_word_or_a_number(tmp_path: Path, columns: int) -> None:
    log = _logs(tmp_path)
    rel = str(log.relative_to(tmp_path))
    env = shell_env(COLUMNS=str(columns), NO_COLOR="1")
    data = prodshield(tmp_path, "logs", "scan", rel, "--no-store", "--format", "json", env=env)
    findings = json.loads(data.stdout)["findings"]
    vocabulary = {"findings", "signal", "kind", "severity", "count", "message", "source"}
    vocabulary |= {"first", "last", "seen", rel}
    for f in findings:
        vocabulary |= {"failure", f["category"], f["kind"], f["severity"], str(f["count"])}
        vocabulary |= set(f["message"].split())
        vocabulary |= {f"{k}={v}" for k, v in f["source"].items() if k != "file"}
        vocabulary |= {f"{k}={v}," for k, v in f["source"].items() if k != "file"}
    assert {f["kind"] for f in findings} >= {"db_connection_failure", "out_of_memory"}
    table = prodshield(tmp_path, "logs", "scan", rel, "--no-store", env=env)
    body = table.stdout.splitlines()
    assert body and all(len(line) <= columns for line in body), table.stdout
    broken = [
        t
        for line in body
        for t in line.split()
        if set(t) != {"─"} and not _whole_or_broken_at_separators(t, vocabulary)
    ]
    assert broken == [], table.stdout
    if columns >= 100:  # the source column is shown: the path reads whole, down its column
        assert "ternal.example.com/" not in {t for line in body for t in line.split()}


def test_audit_at_60_columns_fits_and_breaks_paths_between_their_parts(tmp_path: Path) -> None:
    tree = tmp_path / "app"
    folder = tree / "deploy" / HOST
    folder.mkdir(parents=True)
    (folder / "settings.env").write_text(f"GITHUB_TOKEN={tok.github_classic()}\n")
    env = shell_env(COLUMNS="60", NO_COLOR="1")
    done = prodshield(tree, "audit", ".", "--format", "table", env=env)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 60 and line == line.rstrip() for line in lines), done.stdout
    where = f"deploy/{HOST}/settings.env"
    at = next(i for i, line in enumerate(lines) if line.startswith("high  secrets.leak"))
    # the heading wraps between words, the path after a separator: its pieces give it whole
    pieces = []
    for line in lines[at:]:
        if line.startswith("  "):
            break
        pieces.append(line)
    assert " ".join(pieces).replace("/ ", "/") == f"high  secrets.leak {where}:1", done.stdout
