"""``prodshield serve`` as a process: it prints the URL and token, serves, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from support.net import free_port
from support.serve import start_serve
from support.web_seed import CONFIG


def test_serve_prints_url_and_token_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    config.write_text(CONFIG.replace("sqlite:///unused.db", "sqlite:///store.db"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PRODSHIELD_TOKEN"}
    proc = start_serve(
        config,
        port=port,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None and '"ready"' in body
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in out
    token_line = next(line for line in out.splitlines() if "login token" in line)
    assert len(token_line.rsplit(" ", 1)[1]) >= 24  # generated, shown once so the user can sign in
    assert "prodshield serve stopped" in out
    assert (tmp_path / "store.db").exists()


def _checks(port: int, token: str) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/checks", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return int(json.loads(r.read())["count"])


def test_sighup_reloads_a_valid_config_and_refuses_a_bad_one(tmp_path: Path) -> None:
    token = "hup-token-0123456789abcdef"
    base = CONFIG.replace("sqlite:///unused.db", "sqlite:///store.db").replace(
        'serve: {title: "Acme status"}', f'serve: {{title: "Acme", token: "{token}"}}'
    )
    config = tmp_path / "shield.yaml"
    config.write_text(base)
    port = free_port()
    proc = start_serve(
        config,
        port=port,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        count = None
        while time.monotonic() < deadline and count is None:
            try:
                count = _checks(port, token)
            except OSError:
                time.sleep(0.2)
        assert count == 5
        config.write_text(base + "  - {name: extra, type: tcp, host: 127.0.0.1, port: 9}\n")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _checks(port, token) != 6:
            time.sleep(0.2)
        assert _checks(port, token) == 6
        config.write_text(base + "  - {name: broken, type: tcp}\n")
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert _checks(port, token) == 6  # the previous config keeps running
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "reloaded" in out and "5 checks" in out  # 4 configured + extra
    assert "reload refused" in err and "port" in err
    assert token not in out  # a configured token is shown redacted
