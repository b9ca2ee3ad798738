"""Hostile text as a user meets it in a terminal.

A log line ``user=\\x1b[2Jroot`` read ``user=[2Jroot`` (or ``user=root``) in ``logs scan`` while
the dashboard showed ``user=␛[2Jroot``: the reader of the terminal could not tell that the line
was tampered with. The CLI now shows the marks a page shows (``␛``, ``␇``, ``\\ufffd`` for a
bidirectional override), with no raw ESC, BEL or override on stdout or stderr, and rich markup
in a log line (``[bold red]``, ``[link=...]``) printed as typed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from support.cli import prodshield, wide_env

RAW = ("\x1b", "\x07", "\u202e", "\u202c", "\u2066", "\u2069", "\x9b", "\r")
LINE = (
    "user=\x1b[2Jroot \x1b]0;pwned\x07 \u202eevil\u202c \u2066iso\u2069 \x9b31mred"
    " [bold red]x[/] [link=https://evil.example]docs[/link] connection refused"
)


def _no_raw(done: subprocess.CompletedProcess[str]) -> None:
    out = done.stdout + done.stderr
    assert not [c for c in RAW if c in out], repr(out)


def _log(tmp_path: Path) -> Path:
    log = tmp_path / "app.log"
    log.write_text(
        "".join(f"2026-12-06 10:00:0{n},000 ERROR app.db: {LINE} {n}\n" for n in range(3)),
        encoding="utf-8",
    )
    return log


def test_logs_commands_show_the_marks_a_page_shows(tmp_path: Path) -> None:
    log = _log(tmp_path)
    env = wide_env(COLUMNS="400")
    templates = prodshield(tmp_path, "logs", "templates", str(log), env=env)
    assert templates.returncode == 0, templates.stderr
    _no_raw(templates)
    # the example column quotes the line as it was, each control as its mark
    assert "user=␛[2Jroot ␛]0;pwned␇ \ufffdevil\ufffd \ufffdiso\ufffd \ufffd31mred" in (
        templates.stdout
    ), templates.stdout
    # rich markup from the line is text, not styling or a hyperlink
    assert "[bold red]x[/] [link=https://evil.example]docs[/link]" in templates.stdout
    scan = prodshield(tmp_path, "logs", "scan", str(log), "--no-store", env=env)
    assert scan.returncode in (0, 1), scan.stderr
    _no_raw(scan)
    assert "user=␛[" in scan.stdout and "\ufffdevil\ufffd" in scan.stdout, scan.stdout
    assert "[bold red]x[/]" in scan.stdout, scan.stdout


def test_a_hostile_file_name_in_an_error_line_shows_its_marks(tmp_path: Path) -> None:
    name = "gone\x1b[2J\u202e" + os.fsdecode(b"\xff") + ".log"
    done = prodshield(tmp_path, "logs", "templates", name, env=wide_env())
    assert done.returncode != 0 and "internal error" not in done.stderr, done.stderr
    _no_raw(done)
    assert "gone␛[2J\ufffd\ufffd.log" in done.stderr, done.stderr


def test_debt_markdown_quotes_repository_text_inert(tmp_path: Path) -> None:
    """``debt --format markdown`` (pasted into a PR comment) wrote a TODO's text, its file's name
    and its author raw: a live link, an ``@everyone`` ping, terminal escapes."""
    repo = tmp_path / "shop"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=Eve [x](https://evil.example)"]
    git += ["-c", "user.email=eve@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "app.py").write_text(
        "# TODO: see [docs](https://evil.example) @everyone \x1b[2J <img src=x> | cell\n"
    )
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    done = prodshield(repo, "debt", ".", "--format", "markdown", env=wide_env())
    assert done.returncode == 0, done.stderr
    _no_raw(done)
    oldest = done.stdout.split("## Oldest")[1]
    assert "](" not in oldest.replace("\\](", ""), oldest  # no live link
    assert "@everyone" not in oldest and "<img" not in oldest.replace("\\<img", ""), oldest
    assert "␛\\[2J" in oldest and "`app.py:1`" in oldest, oldest
