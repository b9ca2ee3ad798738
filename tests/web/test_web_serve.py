"""``prodshield serve`` as a process: it prints the URL and token, serves, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from support.serve import read_bound, start_serve
from support.web_seed import CONFIG


def test_serve_prints_url_and_token_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    config.write_text(CONFIG.replace("sqlite:///unused.db", "sqlite:///store.db"))
    env = {k: v for k, v in os.environ.items() if k != "PRODSHIELD_TOKEN"}
    proc = start_serve(
        config,
        port=0,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        port, first = read_bound(proc)
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
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
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    out = first + out
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
    errors = tmp_path / "serve.err"
    with errors.open("w") as stderr:
        proc = start_serve(config, port=0, stdout=subprocess.PIPE, stderr=stderr)
    try:
        port, first = read_bound(proc)
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
        count = None
        while time.monotonic() < deadline and count is None:
            try:
                count = _checks(port, token)
            except OSError:
                time.sleep(0.2)
        assert count == 5
        config.write_text(base + "  - {name: extra, type: tcp, host: 127.0.0.1, port: 9}\n")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _checks(port, token) != 6:
            time.sleep(0.2)
        assert _checks(port, token) == 6
        config.write_text(base + "  - {name: broken, type: tcp}\n")
        proc.send_signal(signal.SIGHUP)
        # the refusal is printed once the reload was tried (not within a fixed second on a
        # loaded machine: the SIGTERM came first and nothing was refused yet)
        deadline = time.monotonic() + 60
        while "reload refused" not in errors.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _checks(port, token) == 6  # the previous config keeps running
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = errors.read_text()
    out = first + out
    assert proc.returncode == 0, err
    assert "reloaded" in out and "5 checks" in out  # 4 configured + extra
    assert "reload refused" in err and "port" in err
    assert token not in out  # a configured token is shown redacted
