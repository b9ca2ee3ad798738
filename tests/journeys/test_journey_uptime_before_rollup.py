"""Journey: ``serve`` just started. Its first results are in the store before the minute's
rollup writes their hourly aggregate; the status page, the API and the badge show uptime from
those results at once (a check that answers: 100 %), not "no uptime yet" for a minute."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from pathlib import Path
from typing import Any

from support.cli import shell_env
from support.net import free_port, wait_until
from support.serve import start_serve, stop_serve

TOKEN = "journey-token-0123456789abcdef"


def _get(port: int, path: str) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
    return json.loads(body) if path.startswith("/api") else body


def test_status_page_shows_uptime_from_the_first_results(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the TCP check's target: the kernel accepts, nothing else needed
    target = listener.getsockname()[1]
    port = free_port()
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: {port}, token: "{TOKEN}"}}\n'
        "checks:\n"
        f"  - {{name: db, type: tcp, host: 127.0.0.1, port: {target}, interval: 1s}}\n"
    )
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), NO_COLOR="1")
    serve = start_serve(tmp_path / "shield.yaml", cwd=tmp_path, env=env)
    try:
        first = wait_until(
            lambda: next(c for c in _get(port, "/api/v1/checks")["checks"])["last_result"],
            "the first result",
            60,
        )
        assert first["ok"] is True
        checks = _get(port, "/api/v1/checks")["checks"]
        assert checks[0]["uptime"]["24h"] == 100.0, checks
        page = _get(port, "/")
        service = re.search(r'<article class="service" data-service="db".*?</article>', page, re.S)
        assert service is not None, page[:3000]
        assert "no uptime yet" not in service.group(0)
        assert '<span class="uptime-90d">100' in service.group(0), service.group(0)
        badge = _get(port, "/badge/db/uptime.svg")
        assert "100.00%" in badge and "no data" not in badge, badge
    finally:
        _, err = stop_serve(serve, timeout=30)
        listener.close()
    assert "Traceback" not in err, err[-2000:]
