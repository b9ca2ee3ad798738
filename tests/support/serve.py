"""`prodshield serve` as a subprocess, started and stopped the same way in every test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
