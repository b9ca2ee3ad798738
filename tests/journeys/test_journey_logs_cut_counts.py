"""Journey: a 100 KB log line, cut wherever it is shown, says how much of the *original line* was
left out (about 99,800 characters), not how much of an earlier cut copy (a stored 500- or
2,000-character message gave ``[362 more characters]``): in ``logs scan`` (JSON and tables),
``logs digest``, ``logs templates``, ``serve``'s ``/api/v1/findings`` and the dashboard. In a
terminal table the note's number is never cropped (the text before it is), and the template id
column is never cut at 80 columns (ids are what the API and JSON name)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from support.alerting import TOKEN, Browser
from support.cli import prodshield, shell_env
from support.net import wait_until
from support.serve import read_bound, start_serve, stop_serve

BIG = "2026-12-07 04:10:00,000 ERROR app: big " + "A" * 100_000 + "\n"
NOTE = re.compile(r"\[(\d{1,3}(?:,\d{3})*) more characters\]")


def _env(columns: int = 200) -> dict[str, str]:
    return shell_env(drop=("PRODSHIELD_",), COLUMNS=str(columns), NO_COLOR="1")


def _counts(text: str) -> list[int]:
    return [int(m.group(1).replace(",", "")) for m in NOTE.finditer(text)]


def _about_the_line(text: str) -> None:
    counts = _counts(text)
    assert counts, text[-400:]
    # what is shown is at most a few thousand characters: the rest of the 100,004 is left out
    assert all(97_000 <= n <= 100_004 for n in counts), counts


def test_cut_notes_count_the_original_line_in_the_cli(tmp_path: Path) -> None:
    (tmp_path / "h.log").write_text(BIG + "2026-12-07 04:10:01,000 INFO app: worker 3 started\n")
    scan = prodshield(
        tmp_path, "logs", "scan", "h.log", "--no-store", "--format", "json", env=_env()
    )
    finding = json.loads(scan.stdout)["findings"][0]
    assert finding["kind"] == "error_logged"
    _about_the_line(finding["message"])
    _about_the_line(finding["samples"][0])
    assert len(finding["message"]) <= 500

    digest = prodshield(tmp_path, "logs", "digest", "h.log", "--no-store", env=_env())
    assert digest.returncode == 0, digest.stderr
    _about_the_line(digest.stdout)

    for columns in (80, 200):
        table = prodshield(tmp_path, "logs", "scan", "h.log", "--no-store", env=_env(columns))
        _about_the_line(table.stdout)  # the number itself is shown, not cropped to "AAAA…"
        templates = prodshield(tmp_path, "logs", "templates", "h.log", env=_env(columns))
        _about_the_line(templates.stdout)
        ids = json.loads(
            prodshield(
                tmp_path, "logs", "templates", "h.log", "--format", "json", env=_env()
            ).stdout
        )["templates"]
        for t in ids:
            assert t["id"] in templates.stdout, (columns, t["id"], templates.stdout)


def _get(port: int, path: str) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
    return json.loads(body) if path.startswith("/api") else body


def test_cut_notes_count_the_original_line_in_serve(tmp_path: Path) -> None:
    (tmp_path / "h.log").write_text(BIG)
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n    - {name: app, path: h.log, format: python}\n"
    )
    serve = start_serve(
        tmp_path / "shield.yaml",
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port, _ = read_bound(serve)
        finding = wait_until(
            lambda: next(
                (f for f in _get(port, "/api/v1/findings")["logs"] if f["kind"] == "error_logged"),
                None,
            ),
            "the error_logged finding",
            90,
            interval=0.3,
        )
        assert finding is not None
        _about_the_line(finding["message"])  # cut at 500, saying so
        _about_the_line(finding["samples"][0])
        page = _get_dashboard(port)
        _about_the_line(page)
    finally:
        stop_serve(serve, timeout=60)


def _get_dashboard(port: int) -> str:
    """``/dashboard/logs`` as a signed-in browser without JavaScript gets it."""
    browser = Browser(port)
    browser.login()
    return browser.get("/dashboard/logs")
