"""A user parses a log file with ``prodshield logs parse`` and groups lines by ``template_id``.

Through the CLI as a subprocess on a real file: every line of one statement gets one id and the
template its cluster has at the end (also the early lines, seen before the template generalised);
templates are the line's own text with variables masked; the ids are the ones ``logs templates``
reports and, with ``--save``, the ones the store keeps for the next run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from prodshield.logs.masking import WILDCARD


def _cli(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _lines() -> list[tuple[str, str]]:
    """(statement, line): each line tagged with the log statement it comes from."""
    users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    out: list[tuple[str, str]] = []
    for i in range(80):
        u = users[i % len(users)]
        out.append(("login", f"Accepted publickey for {u} from 10.0.{i % 7}.{i} port {40000 + i}"))
        out.append(
            (
                "slow",
                f"Slow query ({12 + i} ms) on table {['orders', 'users', 'carts', 'items', 'audit', 'stock'][i % 6]}",
            )
        )
        out.append(
            (
                "ckpt",
                f"checkpoint complete: wrote {i * 3} buffers ({i % 10}.{i % 7}%); sync files={i}",
            )
        )
        if i % 4 == 0:
            out.append(("state", f"job {i} moved from {['NEW', 'RUNNING'][i % 8 // 4]} to DONE"))
    return out


def _regex(template: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(p) for p in template.split(WILDCARD)) + r"\Z", re.S)


def test_parse_groups_every_line_of_a_statement_under_one_id(tmp_path: Path) -> None:
    tagged = _lines()
    log = tmp_path / "app.log"
    log.write_text("".join(line + "\n" for _, line in tagged), encoding="utf-8")
    proc = _cli("logs", "parse", str(log), "--log-format", "raw", "--output", "jsonl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [r["line"] for r in rows] == list(range(1, len(tagged) + 1))
    ids: dict[str, set[str]] = defaultdict(set)
    for (statement, line), row in zip(tagged, rows, strict=True):
        ids[statement].add(row["template_id"])
        # the template is the line's own text with variables masked: nothing dropped or moved
        assert _regex(row["template"]).match(line), (row["template"], line)
    # the first line of each statement was read before its template generalised: same id anyway
    assert all(len(v) == 1 for k, v in ids.items() if k != "state"), ids
    assert len({next(iter(v)) for k, v in ids.items() if k != "state"}) == 3
    by_id = {r["template_id"]: r["template"] for r in rows}
    assert by_id[rows[0]["template_id"]] == "Accepted publickey for <*> from <*> port <*>"
    assert by_id[rows[1]["template_id"]] == "Slow query (<*> ms) on table <*>"
    assert rows[0]["params"] == ["alice", "10.0.0.0", "40000"]
    # an enumeration keeps its values: two templates, each one id
    states = {r["template"] for (s, _), r in zip(tagged, rows, strict=True) if s == "state"}
    assert states == {"job <*> moved from NEW to DONE", "job <*> moved from RUNNING to DONE"}

    # `logs templates` reports the same ids
    proc = _cli("logs", "templates", str(log), "--log-format", "raw", "--format", "json",
                "--top", "0", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    reported = {t["id"]: t for t in json.loads(proc.stdout)["templates"]}
    assert set(reported) == set(by_id)
    assert reported[rows[0]["template_id"]]["count"] == 80


def test_parse_save_keeps_ids_across_runs_and_stdin_streams(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        f'storage: "sqlite:///{tmp_path / "shield.db"}"\n', encoding="utf-8"
    )
    first = tmp_path / "day1.log"
    first.write_text("worker 1 finished batch orders in 12 ms\n", encoding="utf-8")
    proc = _cli("logs", "parse", str(first), "--save", "-c", "shield.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    day1 = json.loads(proc.stdout.decode().splitlines()[0])
    assert day1["template"] == "worker <*> finished batch orders in <*> ms"
    second = tmp_path / "day2.log"
    names = ["users", "carts", "stock", "audit", "items", "mails"]
    second.write_text(
        "".join(f"worker {i} finished batch {n} in {i} ms\n" for i, n in enumerate(names))
    )
    proc = _cli("logs", "parse", str(second), "--save", "-c", "shield.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    day2 = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert {r["template_id"] for r in day2} == {day1["template_id"]}
    assert day2[-1]["template"] == "worker <*> finished batch <*> in <*> ms"
    # stdin streams: each line as it is read, ids from the same miner rules
    proc = _cli("logs", "parse", "-", "--log-format", "raw", cwd=tmp_path,
                stdin=b"worker 1 finished batch orders in 12 ms\n")  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["template_id"] == day1["template_id"]


def test_the_console_script_gives_the_full_clis_output(tmp_path: Path) -> None:
    """``prodshield logs parse`` starts without the other command groups; same bytes out."""
    log = tmp_path / "app.log"
    log.write_text("".join(line + "\n" for _, line in _lines()), encoding="utf-8")
    entry = "import sys; from prodshield.cli.entry import main; sys.argv[0] = 'prodshield'; main()"
    args = ["logs", "parse", str(log), "-f", "raw", "--output", "jsonl"]
    lean = subprocess.run(
        [sys.executable, "-c", entry, *args], capture_output=True, timeout=120, cwd=tmp_path
    )
    full = _cli(*args, cwd=tmp_path)
    assert lean.returncode == full.returncode == 0, lean.stderr.decode()
    assert lean.stdout == full.stdout and lean.stdout.count(b"\n") == len(_lines())
    assert lean.stderr.decode().strip() == full.stderr.decode().strip()
    bad = subprocess.run(
        [sys.executable, "-c", entry, "logs", "parse", str(log), "-f", "bogus"],
        capture_output=True,
        timeout=120,
    )
    assert bad.returncode == 2 and b"unknown log format 'bogus'" in bad.stderr
    missing = subprocess.run(
        [sys.executable, "-c", entry, "logs", "parse", str(tmp_path / "nope.log")],
        capture_output=True,
        timeout=120,
    )
    assert missing.returncode == 3 and b"no log source could be read" in missing.stderr
    assert b"Traceback" not in bad.stderr + missing.stderr


def test_values_of_several_tokens_keep_one_id(tmp_path: Path) -> None:
    """A size restated in parentheses (``1190 bytes (1.16 KB) sent``) and an error text of one to
    five words (``failed: Broken pipe``, ``failed: No such file or directory``) change the number
    of tokens of a line: each statement still gets one id, each line its own text masked, and
    ``logs templates`` lists the other texts of an id under ``variants``."""
    errors = ["Permission denied", "Connection refused", "Operation timed out",
              "No such file or directory", "Connection reset by peer", "Broken pipe"]  # fmt: skip
    tagged: list[tuple[str, str]] = []
    for i in range(60):
        kb = f" ({i * 37 / 1024:.2f} KB)" if i % 3 == 0 else ""
        tagged.append(("close", f"proxy.example.com:{5000 + i} close, {i * 37} bytes{kb} sent, "
                                f"{i * 11} bytes received, lifetime 00:{i % 60:02d}"))  # fmt: skip
        tagged.append(("node", f"Connection with node {i} at 10.0.0.{i}:6379 failed: "
                               f"{errors[i % len(errors)]}"))  # fmt: skip
    log = tmp_path / "mixed.log"
    log.write_text("".join(line + "\n" for _, line in tagged), encoding="utf-8")
    proc = _cli("logs", "parse", str(log), "--log-format", "raw", "--output", "jsonl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    ids: dict[str, set[str]] = defaultdict(set)
    for (statement, line), row in zip(tagged, rows, strict=True):
        ids[statement].add(row["template_id"])
        assert _regex(row["template"]).match(line), (row["template"], line)
    assert len(ids["close"]) == 1 and len(ids["node"]) == 1, ids
    close = next(iter(ids["close"]))
    texts = {r["template"] for r in rows if r["template_id"] == close}
    assert len(texts) == 2  # with and without the restated size
    proc = _cli("logs", "templates", str(log), "--log-format", "raw", "--format", "json",
                "--top", "0", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    reported = {t["id"]: t for t in json.loads(proc.stdout)["templates"]}
    assert set(reported) == ids["close"] | ids["node"]
    assert reported[close]["count"] == 60
    assert {reported[close]["template"], *reported[close]["variants"]} == texts


def test_a_file_name_is_text_and_a_host_name_a_variable(tmp_path: Path) -> None:
    """``app.db could not connect`` keeps its ``app.db``: a name ending in two letters that are no
    country's domain (``.db``, ``.js``) is a file, not a host; ``db1.example.de`` and
    ``cache.shop.io`` stay host names, variables."""
    lines = []
    for i in range(20):
        lines.append(f"app.db could not connect to 10.0.0.{i} after {i + 1} retries")
        lines.append(f"loading bundle.js took {i + 3} ms")
        lines.append(f"resolved db1.example.de in {i + 1} ms")
        lines.append(f"cache.shop.io answered in {i + 2} ms")
    log = tmp_path / "app.log"
    log.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    proc = _cli("logs", "parse", str(log), "--log-format", "raw", "--output", "jsonl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    templates = {json.loads(x)["template"] for x in proc.stdout.decode().splitlines()}
    assert templates == {
        "app.db could not connect to <*> after <*> retries",
        "loading bundle.js took <*> ms",
        "resolved <*> in <*> ms",
        "<*> answered in <*> ms",
    }, templates
