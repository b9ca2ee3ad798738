"""Journey: more commands that send nothing work without the notifiers' and checks' secrets.

shield.yaml pages through PagerDuty with ``routing_key: ${PAGERDUTY_ROUTING_KEY}`` and has an http
check sending ``Bearer ${API_TOKEN}``. With neither exported, `status subscribers` (listing, and
removing one), `audit DIR` and `audit secrets DIR`, and `chaos proxy list` reading ``chaos.api``
work (exit 2 and a file:line error before); `chaos run` sends no notification, so the unset
routing key does not stop it, while its checks (which a ``type: check`` probe runs) stay whole: an
unset ``${API_TOKEN}`` still stops it with the file:line error, as it stops `notify test`."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from support.cli import prodshield, wide_env

PD_KEY = "R0ut1ngKeyN0tT0B3Pr1nt3d0000000a"
API_TOKEN = "ap1-t0ken-n0t-t0-be-pr1nted-0000"


def _config(port: int, api_port: int) -> str:
    return (
        "storage: sqlite:///store.db\n"
        "checks:\n"
        "  - name: api\n"
        "    type: http\n"
        f"    url: http://127.0.0.1:{port}/health\n"
        '    headers: {Authorization: "Bearer ${API_TOKEN}"}\n'
        "notifiers:\n"
        "  pd:\n"
        "    type: pagerduty\n"
        '    routing_key: "${PAGERDUTY_ROUTING_KEY}"\n'
        f"    url: http://127.0.0.1:{port}/v2/enqueue\n"
        f"chaos:\n  api: {{host: 127.0.0.1, port: {api_port}}}\n"
    )


def test_more_read_only_commands_need_no_secret(tmp_path: Path) -> None:
    closed, api = socket.socket(), socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    api.bind(("127.0.0.1", 0))
    (tmp_path / "shield.yaml").write_text(_config(closed.getsockname()[1], api.getsockname()[1]))
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "app.py").write_text("print('hello')\n")
    (tmp_path / "exp.json").write_text(
        json.dumps(
            {
                "title": "touch a marker",
                "description": "the method's one action leaves a file",
                "method": [
                    {
                        "type": "action",
                        "name": "touch",
                        "provider": {"type": "process", "path": "touch", "arguments": ["marker"]},
                    }
                ],
            }
        )
    )
    without = {
        k: v for k, v in wide_env().items() if k not in ("PAGERDUTY_ROUTING_KEY", "API_TOKEN")
    }
    outputs: list[str] = []
    try:
        for args in (
            ("status", "subscribers"),
            ("status", "subscribers", "--json"),
            ("audit", "site"),
            ("audit", "secrets", "site"),
        ):
            done = prodshield(tmp_path, *args, env=without)
            outputs += [done.stdout, done.stderr]
            assert done.returncode == 0, (args, done.stdout, done.stderr)
            assert "is not set" not in done.stderr, (args, done.stderr)
        removed = prodshield(tmp_path, "status", "subscribers", "--remove", "7", env=without)
        assert removed.returncode == 2 and "no subscription 7" in removed.stderr, removed.stderr

        # the proxy list asks chaos.api (nothing listens there): it says so, not "not set"
        proxies = prodshield(tmp_path, "chaos", "proxy", "list", env=without)
        outputs += [proxies.stdout, proxies.stderr]
        assert "is not set" not in proxies.stderr, proxies.stderr
        assert str(api.getsockname()[1]) in proxies.stdout + proxies.stderr, proxies.stderr

        only_token = {**without, "API_TOKEN": API_TOKEN}
        ran = prodshield(tmp_path, "chaos", "run", "exp.json", env=only_token)
        outputs += [ran.stdout, ran.stderr]
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert (tmp_path / "marker").exists()

        for args in (("chaos", "run", "exp.json"), ("notify", "test", "pd")):
            done = prodshield(tmp_path, *args, env=without)
            outputs += [done.stdout, done.stderr]
            assert done.returncode == 2, (args, done.stdout, done.stderr)
            assert "environment variable API_TOKEN is not set" in done.stderr, done.stderr
    finally:
        closed.close()
        api.close()
    assert not any(PD_KEY in text or API_TOKEN in text for text in outputs)
