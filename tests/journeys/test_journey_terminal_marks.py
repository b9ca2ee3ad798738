"""Hostile text as a user meets it in a terminal, and in the JSON the CLI writes.

A log line ``user=\\x1b[2Jroot`` read ``user=[2Jroot`` (or ``user=root``) in ``logs scan`` while
the dashboard showed ``user=␛[2Jroot``: the reader of the terminal could not tell that the line
was tampered with. The CLI now shows the marks a page shows (``␛``, ``␇``, ``\\ufffd`` for a
bidirectional override), with no raw ESC, BEL or override on stdout or stderr, and rich markup
in a log line (``[bold red]``, ``[link=...]``) printed as typed. A file name with a byte that is
not UTF-8 made ``logs parse`` stop with "internal error" and the audit and scan JSON carry a lone
surrogate escape (``"\\udcff"``) that strict parsers refuse; the JSON now holds U+FFFD in the text
and the exact name percent-encoded beside it (``path_uri``, ``source_uri``, ``file_uri``).
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import orjson

from support.cli import prodshield, wide_env
from support.serve_process import TOKEN, serve, wait_for

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


def test_json_output_is_strict_utf8_with_the_exact_name_beside_it(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / os.fsdecode(b"x\xff.env")).write_text("PASSWORD=Zq8vLm2Rt9Xw4Kp7Nc3B\n")
    audit = prodshield(repo, "audit", ".", "--format", "json", env=wide_env())
    assert audit.returncode == 1, audit.stdout + audit.stderr
    assert "\\udcff" not in audit.stdout
    findings = orjson.loads(audit.stdout)["findings"]  # strict: no lone surrogate escape
    named = [f for f in findings if f.get("path") == "x\ufffd.env"]
    assert named and all(f["path_uri"] == "x%FF.env" for f in named), findings
    # the baseline file too, and it still suppresses the finding
    base = prodshield(repo, "audit", "baseline", ".", "--reason", "test", "-o", "base.json")
    assert base.returncode == 0, base.stderr
    entries = orjson.loads((repo / "base.json").read_bytes())["findings"]
    assert {e["path_uri"] for e in entries} == {"./x%FF.env"}, entries
    again = prodshield(repo, "audit", ".", "--baseline", "base.json", "--format", "json")
    assert not [f for f in orjson.loads(again.stdout)["findings"] if f["family"] == "secrets"]
    # a name that is UTF-8 gets no such key
    (repo / os.fsdecode(b"x\xff.env")).rename(repo / "plain.env")
    plain = orjson.loads(prodshield(repo, "audit", ".", "--format", "json").stdout)
    assert all("path_uri" not in f for f in plain["findings"]), plain

    log = tmp_path / os.fsdecode(b"app\xff.log")
    log.write_bytes(b"2026-12-06 10:00:01,000 ERROR app.db: bad \xff byte connection refused\n")
    for fmt in ("raw", "python"):
        parsed = prodshield(
            tmp_path, "logs", "parse", log.name, "--log-format", fmt, "--output", "jsonl"
        )
        assert parsed.returncode == 0 and "internal error" not in parsed.stderr, parsed.stderr
        event = orjson.loads(parsed.stdout.splitlines()[0])
        assert event["source"] == "app\ufffd.log" and event["source_uri"] == "app%FF.log", event
        assert "bad \ufffd byte" in event["message"]
    scan = prodshield(tmp_path, "logs", "scan", log.name, "--format", "json", "--no-store")
    assert scan.returncode in (0, 1), scan.stderr
    source = orjson.loads(scan.stdout)["findings"][0]["source"]
    assert source["file"] == "app\ufffd.log" and source["file_uri"] == "app%FF.log", source


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


def test_serve_warns_about_a_hostile_log_file_name_with_its_marks(tmp_path: Path) -> None:
    """``serve``'s warnings (Python's handler of last resort) quoted a followed file's name raw:
    a file named with an OSC retitled the terminal (or journald's reader) of whoever ran it."""
    logs = tmp_path / "logs"
    logs.mkdir()
    hostile = logs / "app\x1b]0;pwned\x07\u202e.log"
    hostile.write_text("2026-12-06 10:00:01,000 INFO app: started\n")
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "logs:\n  sources:\n"
        f"    - {{name: app, path: '{logs}/*.log', format: python}}\n"
    )
    with serve(tmp_path / "srv", config) as srv:
        hostile.unlink()
        wait_for("the warning", lambda: "deleted while followed" in srv.output(), timeout=60)
        out = srv.output()
    assert "log source " in out and "app␛]0;pwned␇\ufffd.log" in out, out
    assert not [c for c in RAW if c in out], repr(out)


def test_secrets_markdown_shows_a_hostile_file_name_with_its_marks(tmp_path: Path) -> None:
    """``audit secrets --format markdown`` (a PR comment, or the terminal) wrote a file's name
    with its raw ESC, override and non-UTF-8 byte inside the code span."""
    repo = tmp_path / "shop"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    name = os.fsdecode(b"x\xff") + "\x1b[2J\u202e.env"
    (repo / name).write_text("PASSWORD=Zq8vLm2Rt9Xw4Kp7Nc3B\n")
    done = prodshield(repo, "audit", "secrets", ".", "--format", "markdown", env=wide_env())
    assert done.returncode in (0, 1), done.stderr
    _no_raw(done)
    assert "`x\ufffd␛[2J\ufffd.env:1:" in done.stdout, done.stdout


def test_the_markdown_digest_file_shows_a_hostile_line_with_its_marks(tmp_path: Path) -> None:
    """``logs digest --format markdown --output FILE`` (a job summary, a PR comment) wrote the
    line's ESC and right-to-left override raw inside its code spans."""
    hour = datetime.now(UTC).strftime("%Y-%m-%d %H")  # the digest reads the last 24 hours
    log = tmp_path / "app.log"
    log.write_text(
        "".join(f"{hour}:00:0{n},000 ERROR app.db: {LINE} {n}\n" for n in range(3)),
        encoding="utf-8",
    )
    out = tmp_path / "digest.md"
    done = prodshield(
        tmp_path, "logs", "digest", str(log), "--format", "markdown", "--output", str(out)
    )
    assert done.returncode in (0, 1), done.stderr
    text = out.read_text(encoding="utf-8")
    assert not [c for c in RAW if c in text], repr(text)
    assert "user=␛[" in text and "\ufffdevil\ufffd" in text, text
