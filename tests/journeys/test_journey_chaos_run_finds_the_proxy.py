"""Journey: a newcomer puts `chaos.api` (a port other than 8474) in shield.yaml, starts
`prodshield chaos proxy -c shield.yaml`, and runs an experiment whose `type: toxic` actions give
no `api`. `chaos run` finds the proxy as `chaos toxic add` does: with `-c shield.yaml`, with the
shield.yaml of the current folder, and through $PRODSHIELD_PROXY_API (newcomer trial: the
actions went to 127.0.0.1:8474, "cannot reach the proxy API", and the run still said completed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from support.net import free_port, refused_port, wait_until
from support.serve import stop_serve

PROXY = "nc-web"
EXPERIMENT = {
    "version": "1.0.0",
    "title": "a toxic on the configured proxy",
    "description": "the toxic actions name no api",
    "method": [
        {
            "type": "action",
            "name": "slow-web",
            "provider": {
                "type": "toxic",
                "func": "add_toxic",
                "arguments": {"proxy": PROXY, "type": "latency", "name": "slow",
                              "attributes": {"latency": 10}},
            },
        },
        {
            "type": "probe",
            "name": "toxics",
            "provider": {"type": "toxic", "func": "list_toxics", "arguments": {"proxy": PROXY}},
        },
    ],
    "rollbacks": [
        {
            "type": "action",
            "name": "remove-slow",
            "provider": {
                "type": "toxic",
                "func": "remove_toxic",
                "arguments": {"proxy": PROXY, "name": "slow", "missing_ok": False},
            },
        }
    ],
}  # fmt: skip


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")}
    env.update(extra)
    return env


def _run(cwd: Path, *args: str, **env: str) -> dict[str, dict[str, Any]]:
    """`chaos run experiment.json ARGS`: each activity's status and output, from the journal."""
    done = subprocess.run(
        [sys.executable, "-m", "prodshield", "chaos", "run", "experiment.json",
         "--journal-path", "journal.json", *args],
        cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cannot reach the proxy API" not in done.stdout + done.stderr
    journal = json.loads((cwd / "journal.json").read_text())
    return {r["activity"]["name"]: r for r in journal["run"] + journal["rollbacks"]}


def test_toxic_actions_without_api_go_to_the_configured_proxy(tmp_path: Path) -> None:
    # the API's port is in shield.yaml before the proxy starts: what `chaos run` finds there
    api, upstream = free_port(), refused_port()
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "chaos:\n"
        f"  api: {{host: 127.0.0.1, port: {api}}}\n"
        f"  proxies: [{{name: {PROXY}, listen: '127.0.0.1:0',"
        f" upstream: '127.0.0.1:{upstream}'}}]\n"
    )
    (tmp_path / "experiment.json").write_text(json.dumps(EXPERIMENT))
    proxy = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "chaos", "proxy", "-c", "shield.yaml"],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{api}"
        wait_until(lambda: urllib.request.urlopen(f"{url}/version", timeout=2), "the proxy API")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "experiment.json").write_text(json.dumps(EXPERIMENT))
        for cwd, args, env in (
            (tmp_path, ("-c", "shield.yaml"), {}),
            (tmp_path, (), {}),  # ./shield.yaml, as `chaos toxic add` reads it
            (elsewhere, (), {"PRODSHIELD_PROXY_API": url}),
        ):
            ran = _run(cwd, *args, **env)
            assert ran["slow-web"]["status"] == "succeeded", ran["slow-web"]
            assert [t["name"] for t in ran["toxics"]["output"]] == ["slow"], ran["toxics"]
            assert ran["remove-slow"]["status"] == "succeeded", ran["remove-slow"]
    finally:
        stop_serve(proxy, sig=signal.SIGINT, timeout=30)
