"""Journey: `serve` shows the uptime the CLI computes, within its documented few seconds.

A newcomer broke a service, restored it and compared: for over two minutes the JSON API and the
public status page of a running `serve` kept the 24 h uptime of the broken minutes (28.57 %) while
`monitor status` said 72.22 % and `status build` 73.68 %: serve read only the hourly aggregates,
which the rollup rewrites every minute and serve's cache re-read a minute after that. Here: a
check fails (rolled up by `status build`, so serve starts with an aggregate for it), serve
starts, the target recovers and two good results are written; within the documented interval
(docs/web.md "Speed") the API, the status page, `monitor status --format json` and `status build`
all give one figure.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.serve import read_bound, serve_env, start_serve, stop_serve

TOKEN = "journey-token-uptime-fresh-0123456789"
FRESH = 10.0
"""docs/web.md "Speed": the raw results are re-read every 5 s and a page kept 5 s."""


class _Target:
    """An HTTP target that answers 503 while ``failing`` is set, 200 otherwise."""

    def __init__(self) -> None:
        self.failing = True
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(503 if outer.failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _cli(cwd: Path, *args: str, exit_code: int = 0) -> Any:
    done = prodshield(cwd, *args, env=shell_env(drop=("PRODSHIELD_", "GITHUB_")))
    assert done.returncode == exit_code, done.stdout + done.stderr
    return done


def _cli_uptime(cwd: Path) -> float:
    out = json.loads(_cli(cwd, "monitor", "status", "--format", "json").stdout)
    (row,) = out["checks"]
    return float(row["uptime_24h"])


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def _served(base: str) -> tuple[float, str]:
    """The API's 24 h uptime of the check and the status page's figure for its service."""
    (check,) = json.loads(_get(base + "/api/v1/checks"))["checks"]
    html = _get(base + "/").decode()
    shown = re.search(r'data-service="shop".*?uptime 24 h <b>([^<]*)</b>', html, re.S)
    assert shown, html
    return float(check["uptime"]["24h"]), shown.group(1)


def test_serve_uptime_follows_the_store_as_the_cli_computes_it(tmp_path: Path) -> None:
    target = _Target()
    (tmp_path / "shield.yaml").write_text(
        f"""
storage: "sqlite:///{tmp_path / "store.db"}"
serve: {{title: "Shop status", token: "{TOKEN}", host: 127.0.0.1}}
checks:
  - name: shop
    type: http
    url: "{target.url}/"
    interval: 1h
    timeout: 2s
    conditions: ["[STATUS] == 200"]
"""
    )
    proc = None
    try:
        _cli(tmp_path, "monitor", "once", "--format", "json", exit_code=1)  # a failure
        _cli(tmp_path, "status", "build", "--out", str(tmp_path / "site"))  # rolls them up
        proc = start_serve(tmp_path / "shield.yaml", port=0, cwd=tmp_path, env=serve_env())
        port, _ = read_bound(proc)
        base = f"http://127.0.0.1:{port}"
        target.failing = False  # (serve's first check may be one more failure)
        for _ in range(2):
            _cli(tmp_path, "monitor", "once", "--format", "json")
        cli = _cli_uptime(tmp_path)
        assert 45.0 < cli < 80.0, cli  # 2 or 3 good of 4, or 2 of 3
        deadline = time.monotonic() + FRESH + 10.0  # room for a busy machine
        while True:
            api, page = _served(base)
            if abs(api - cli) < 1e-4 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert abs(api - cli) < 1e-4, f"serve's API says {api}%, monitor status {cli}%"
        assert page == f"{cli:.2f}%", f"the status page says {page}, monitor status {cli}%"
        site = tmp_path / "site"
        _cli(tmp_path, "status", "build", "--out", str(site))
        html = (site / "index.html").read_text()
        built = re.search(r'data-service="shop".*?uptime 24 h <b>([^<]*)</b>', html, re.S)
        assert built and built.group(1) == f"{cli:.2f}%", (built and built.group(1), cli)
    finally:
        if proc is not None:
            stop_serve(proc, timeout=20)
        target.close()
