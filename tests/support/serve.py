"""`prodshield serve` as a subprocess, started and stopped the same way in every test; for the
journeys, its shield.yaml (a store in the folder, a port and a token) and a GET with the token."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UNSET = ("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN")
"""Variables of the developer's shell that would change what the test's serve does."""


def serve_env(**extra: str) -> dict[str, str]:
    """This process's environment without ``PRODSHIELD_CONFIG``/``PRODSHIELD_TOKEN``, plus
    ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(extra)
    return env


def start_serve(
    config: Path,
    *,
    port: int | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdout: Any = subprocess.PIPE,
    stderr: Any = subprocess.PIPE,
    **popen: Any,
) -> subprocess.Popen[str]:
    """Start ``prodshield serve -c CONFIG [--port PORT]`` (text output, piped by default; other
    ``subprocess.Popen`` arguments pass through)."""
    args = [sys.executable, "-m", "prodshield", "serve", "-c", str(config)]
    if port is not None:
        args += ["--port", str(port)]
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=serve_env() if env is None else env,
        stdout=stdout,
        stderr=stderr,
        text=True,
        **popen,
    )


def start_with_token(config: Path, port: int, token: str) -> subprocess.Popen[str]:
    """``start_serve`` on ``port`` with the API ``token`` (``PRODSHIELD_TOKEN``), its output
    dropped but stderr, piped: read it once serve has stopped (or died)."""
    return start_serve(
        config,
        port=port,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PRODSHIELD_TOKEN": token},
    )


def stop_serve(
    proc: subprocess.Popen[Any], *, sig: int = signal.SIGTERM, timeout: float = 30.0
) -> tuple[Any, Any]:
    """Stop ``proc`` with ``sig`` (killed if it outlives ``timeout``); return its (stdout,
    stderr), "" for a stream that was not piped."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return ("" if out is None else out), ("" if err is None else err)


TOKEN = "journey-token-0123456789abcdef"
"""The API token ``write_config`` gives serve and ``get`` sends, unless told another."""


def write_config(folder: Path, port: int, rest: str, *, token: str = TOKEN) -> Path:
    """Write ``folder/shield.yaml``: a SQLite store in ``folder``, serve on ``port`` with
    ``token``, then ``rest`` (the checks, sources and so on); return its path."""
    path = folder / "shield.yaml"
    path.write_text(
        f'storage: sqlite:///store.db\nserve: {{port: {port}, token: "{token}"}}\n{rest}'
    )
    return path


def get(port: int, path: str, *, token: str = TOKEN) -> Any:
    """GET ``path`` from the serve on ``port`` with the token: the parsed JSON for an ``/api``
    path, the text otherwise."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
    return json.loads(body) if path.startswith("/api") else body


def answers(
    port: int,
    proc: subprocess.Popen[Any],
    *,
    path: str = "/readyz",
    timeout: float = 60.0,
    interval: float = 0.2,
) -> bool:
    """Ask the serve ``proc`` on ``port`` for ``path`` every ``interval`` seconds: True once it
    answers 200, False when it exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(interval)
    return False


def wait_ready(port: int, proc: subprocess.Popen[Any], timeout: float = 60.0) -> None:
    """Wait until the serve ``proc`` on ``port`` is ready (``/readyz`` 200); fail when it exits
    first (showing its stderr when piped) or after ``timeout`` seconds."""
    if answers(port, proc, timeout=timeout):
        return
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else "serve exited"
    raise AssertionError(f"serve did not become ready within {timeout:g} s")


@dataclass
class Serving:
    """The serve of a ``with serving(...)`` block."""

    proc: subprocess.Popen[str]
    err: str = ""
    """serve's stderr, once it is stopped."""


@contextmanager
def serving(
    config: Path, *, env: dict[str, str] | None = None, stop_timeout: float = 30.0
) -> Iterator[Serving]:
    """Run ``prodshield serve -c CONFIG`` in the config's folder for the block; stop it on
    leaving, and when the block ended without an error, fail if serve wrote a traceback."""
    running = Serving(start_serve(config, cwd=config.parent, env=env))
    try:
        yield running
    finally:
        _, running.err = stop_serve(running.proc, timeout=stop_timeout)
    assert "Traceback" not in running.err, running.err[-2000:]
