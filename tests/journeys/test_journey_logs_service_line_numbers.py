"""Journey: `serve` names a finding in a followed file at its real line, across polls and restarts.

The log follower hands the service a batch of new lines at each poll, and each batch was numbered
from 1: a password leaked on line 11 of a followed file was reported on the dashboard and in
`/api/v1/findings` as `at app.log:1` (the first line of that poll), and the same after a restart.
Now the follower keeps the number of lines before its offset (saved with it) and every batch is
numbered from there, for raw files and for files with a format alike.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from support.cli import shell_env
from support.net import wait_until
from support.serve import read_bound, start_serve, stop_serve

TOKEN = "journey-token-0123456789abcdef"


def _findings(port: int) -> list[dict[str, Any]]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/findings", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return list(json.loads(r.read())["logs"])


def _places(port: int) -> set[str]:
    """The ``file:N`` places (file names without their folder) the secret findings name."""
    out: set[str] = set()
    for f in _findings(port):
        if f["kind"] == "secret_in_log":
            out.update(Path(s.split(": ", 1)[0]).name for s in f["samples"])
    return out


def _counted(port: int) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/templates", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return sum(t["count"] for t in json.loads(r.read())["templates"])


def _append(path: Path, text: str) -> None:
    with path.open("a") as fh:
        fh.write(text)


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), NO_COLOR="1")
    proc = start_serve(tmp_path / "shield.yaml", cwd=tmp_path, env=env)
    port, _ = read_bound(proc)
    return proc, port


def test_findings_of_a_followed_file_name_its_lines(tmp_path: Path) -> None:
    app, shop = tmp_path / "app.log", tmp_path / "shop.log"
    app.write_text("".join(f"worker {i} started\n" for i in range(1, 11)))
    shop.write_text(
        "".join(f"2026-12-06 10:00:{i:02d},000 INFO shop: worker {i} started\n" for i in range(10))
    )
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        "logs:\n"
        "  window: 1s\n"
        "  sources:\n"
        "    - {name: app, path: app.log, format: raw}\n"
        "    - {name: shop, path: shop.log, format: python}\n"
    )
    proc, port = _serve(tmp_path)
    try:
        # the first ten lines of each file are read (a poll of their own) before these are written
        wait_until(lambda: _counted(port) >= 20, "the first lines counted", 90)
        _append(app, "login ok password=hunter22x for bob\n")
        _append(shop, "2026-12-06 10:01:00,000 INFO shop: login password=hunter22x for bob\n")
        wait_until(lambda: _places(port) == {"app.log:11", "shop.log:11"}, "line 11 of each", 90)
    finally:
        stop_serve(proc)

    _append(app, "worker 12 started\nlogin ok password=swordfish77 for eve\n")
    proc, port = _serve(tmp_path)
    try:
        wait_until(
            lambda: "app.log:13" in _places(port),
            "app.log:13 after a restart",
            90,
        )
    finally:
        stop_serve(proc)
