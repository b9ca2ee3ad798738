"""Journey: ``serve`` just started. Its first results are in the store before the minute's
rollup writes their hourly aggregate; the status page, the API and the badge show uptime from
those results at once (a check that answers: 100 %), not "no uptime yet" for a minute."""

from __future__ import annotations

import socket
from pathlib import Path

from support.cli import shell_env
from support.net import wait_until
from support.pages import service_card
from support.serve import get, serving, write_config


def test_status_page_shows_uptime_from_the_first_results(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the TCP check's target: the kernel accepts, nothing else needed
    target = listener.getsockname()[1]
    config = write_config(
        tmp_path,
        0,
        f"checks:\n  - {{name: db, type: tcp, host: 127.0.0.1, port: {target}, interval: 1s}}\n",
    )
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), NO_COLOR="1")
    try:
        with serving(config, env=env) as serve:
            port = serve.port
            first = wait_until(
                lambda: next(c for c in get(port, "/api/v1/checks")["checks"])["last_result"],
                "the first result",
                60,
            )
            assert first["ok"] is True
            checks = get(port, "/api/v1/checks")["checks"]
            assert checks[0]["uptime"]["24h"] == 100.0, checks
            page = get(port, "/")
            service = service_card(page, "db")
            assert "no uptime yet" not in service
            assert '<span class="uptime-90d">100' in service, service
            badge = get(port, "/badge/db/uptime.svg")
            assert "100.00%" in badge and "no data" not in badge, badge
    finally:
        listener.close()
