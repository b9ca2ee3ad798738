"""Journey: a `type: sequence` check in shield.yaml logs in to a real loopback app, carries the
token into the API call, and `monitor once --format json` shows success; when the API rejects the
token, the result names the failing step and never shows the token whole. The docs example passes
`config check`."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

from aiohttp import web

from support.cli import prodshield, shell_env
from support.standins.loopback_app import serve_app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitor.md"
state: dict[str, Any] = {"accept": True, "tokens": []}


def routes(app: web.Application) -> None:
    async def login(request: web.Request) -> web.Response:
        if (await request.json()).get("password") != "s3cret-pass":
            return web.json_response({"error": "no"}, status=403)
        token = "tok-" + secrets.token_hex(20)
        state["tokens"].append(token)
        return web.json_response({"token": token})

    async def orders(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if state["accept"] and auth == f"Bearer {state['tokens'][-1]}":
            return web.json_response({"orders": [1, 2, 3]})
        return web.json_response({"error": "unauthorized", "echo": auth}, status=401)

    app.router.add_post("/login", login)
    app.router.add_get("/api/orders", orders)


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = shell_env(drop=("PRODSHIELD_CONFIG",), PROBE_PASSWORD="s3cret-pass")
    return prodshield(cwd, *args, env=env)


def test_sequence_check_from_the_cli(tmp_path: Path) -> None:
    with serve_app(routes) as base:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "defaults: {failure_threshold: 1, success_threshold: 1}\n"
            "checks:\n"
            "  - name: orders-journey\n"
            "    type: sequence\n"
            "    timeout: 10s\n"
            "    steps:\n"
            "      - name: login\n"
            "        method: POST\n"
            f"        url: {base}/login\n"
            '        body: \'{"user": "probe", "password": "${PROBE_PASSWORD}"}\'\n'
            "        conditions: ['[STATUS] == 200']\n"
            "        capture: {token: '[BODY].token'}\n"
            "      - name: get-orders\n"
            f"        url: {base}/api/orders\n"
            "        headers: {Authorization: 'Bearer {captures.token}'}\n"
            "        conditions: ['[STATUS] == 200', '[BODY].echo == x']\n"
        )
        # [BODY].echo == x fails on success; drop it for the first run
        cfg = (tmp_path / "shield.yaml").read_text()
        (tmp_path / "shield.yaml").write_text(cfg.replace(", '[BODY].echo == x'", ""))
        done = _cli(tmp_path, "monitor", "once", "--format", "json")
        assert done.returncode == 0, done.stderr + done.stdout
        (result,) = json.loads(done.stdout)["results"]
        assert result["ok"] is True, result
        assert len(state["tokens"]) == 1

        state["accept"] = False
        (tmp_path / "shield.yaml").write_text(cfg)
        done = _cli(tmp_path, "monitor", "once", "--format", "json")
        assert done.returncode == 1, done.stderr
        (result,) = json.loads(done.stdout)["results"]
        assert result["ok"] is False
        message = result["error"]["message"]
        assert message.startswith("step 2 (get-orders): [STATUS] (401) == 200; [BODY].echo ("), (
            message
        )
        token = state["tokens"][-1]
        assert token not in done.stdout and token not in done.stderr
        assert token[:4] in message  # masked, not dropped: the reader sees a token was there


def test_docs_example_passes_config_check(tmp_path: Path) -> None:
    text = DOCS.read_text()
    m = re.search(r"<!-- config-example: sequence -->\n```yaml\n(.*?)```", text, re.S)
    assert m, "docs/monitor.md lost its sequence example"
    (tmp_path / "shield.yaml").write_text(m.group(1))
    done = _cli(tmp_path, "config", "check")
    assert done.returncode == 0, done.stderr + done.stdout
