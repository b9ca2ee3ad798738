"""`prodshield serve` as a subprocess, started and stopped the same way in every test, on port 0
with the port it bound read from its output (as for `chaos proxy`); for the journeys, its
shield.yaml (a store in the folder, a port and a token) and a GET with the token."""

from __future__ import annotations

import json
import os
import re
import select
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


def read_until(
    proc: subprocess.Popen[Any], pattern: str, *, stream: str = "stdout", timeout: float = 60.0
) -> tuple[re.Match[str], str]:
    """Read ``proc``'s piped ``stream`` ("stdout" or "stderr") until ``pattern`` (a multi-line
    regular expression) matches what was read; return the match and the text read (the rest of
    the stream is left to ``communicate()``). Fail, showing the output, when the process exits
    or ``timeout`` seconds pass first.

    The pipe's bytes are read with ``os.read``: ``readline()`` on the text wrapper may buffer
    lines after the one wanted (serve's login token), which ``communicate()`` then never sees."""
    pipe = getattr(proc, stream)
    assert pipe is not None, f"the {stream} is not piped"
    fd = pipe.fileno()
    wanted = re.compile(pattern, re.MULTILINE)
    data = b""
    deadline = time.monotonic() + timeout
    while (found := wanted.search(data.decode("utf-8", "replace"))) is None:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if not select.select([fd], [], [], min(left, 0.5))[0]:
            continue  # (an exited process's pipe is readable: its end, b"")
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    text = data.decode("utf-8", "replace")
    if found is None:
        other = proc.stderr if stream == "stdout" else proc.stdout
        rest = other.read() if proc.poll() is not None and other is not None else ""
        raise AssertionError(
            f"no {pattern!r} in the {stream} (exit {proc.poll()}): {text!r}; other: {rest!r}"
        )
    return found, text


SERVING = r"^prodshield serving http://\S+:(\d+)/"
"""serve's first line, with the port it bound."""


def read_bound(proc: subprocess.Popen[Any], timeout: float = 60.0) -> tuple[int, str]:
    """The port the serve ``proc`` (stdout piped) bound, from its ``prodshield serving URL``
    line, and the stdout read up to there (that line, maybe more: see ``read_until``). Started
    on port 0, serve binds a port nothing can take in between."""
    found, text = read_until(proc, SERVING, timeout=timeout)
    return int(found.group(1)), text


def bound_in_log(log: Path, proc: subprocess.Popen[Any], timeout: float = 60.0) -> int:
    """The port the serve ``proc`` bound, from the ``prodshield serving URL`` line in ``log``
    (the file its stdout goes to); fail when it exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while (found := re.search(SERVING, log.read_text(errors="replace"), re.MULTILINE)) is None:
        assert proc.poll() is None, f"serve exited {proc.returncode}: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"serve did not say its port: {log.read_text()}"
        time.sleep(0.1)
    return int(found.group(1))


def read_proxy_ports(
    proc: subprocess.Popen[Any], names: tuple[str, ...] = (), *, timeout: float = 60.0
) -> tuple[int, dict[str, int], str]:
    """``prodshield chaos proxy`` (stderr piped) given ``--port 0`` or ``chaos.api.port: 0``,
    and proxies listening on port 0: the API's port and each of ``names``' ports, from the
    lines it prints once they all listen, and the stderr read."""
    api = r"API on http://\S+:(\d+)\n"
    each = [rf"^  {re.escape(n)}: \S+:(\d+) -> [^\n]*\n" for n in names]
    everything = r"(?s)\A" + "".join(f"(?=.*?{line})" for line in [api, *each])
    _, text = read_until(proc, everything, stream="stderr", timeout=timeout)
    port = re.search(api, text)
    assert port is not None, text
    ports = {}
    for name, line in zip(names, each, strict=True):
        found = re.search(line, text, re.MULTILINE)
        assert found is not None, text
        ports[name] = int(found.group(1))
    return int(port.group(1)), ports, text


@dataclass
class Served:
    """A serve started on port 0 (``start_on_free_port``), with the port it bound."""

    proc: subprocess.Popen[str]
    port: int
    head: str
    """Its stdout read to find the port (the first line, maybe more): ``stop`` puts it back
    before the rest."""

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``, no final slash."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self, *, sig: int = signal.SIGTERM, timeout: float = 30.0) -> tuple[str, str]:
        """``stop_serve``: its whole stdout (``head`` and the rest) and its stderr."""
        out, err = stop_serve(self.proc, sig=sig, timeout=timeout)
        return self.head + out, err


def start_on_free_port(
    config: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stderr: Any = subprocess.PIPE,
    timeout: float = 60.0,
) -> Served:
    """``start_serve --port 0`` (stdout piped) and read the port it bound; stopped (and its
    stderr shown) when it does not say one within ``timeout`` seconds."""
    proc = start_serve(config, port=0, cwd=cwd, env=env, stderr=stderr)
    try:
        port, head = read_bound(proc, timeout)
    except BaseException:
        stop_serve(proc)
        raise
    return Served(proc, port, head)


def start_with_token(config: Path, token: str, *, cwd: Path | None = None) -> Served:
    """``start_on_free_port`` with the API ``token`` (``PRODSHIELD_TOKEN``); stdout and stderr
    piped: read them with ``Served.stop``."""
    return start_on_free_port(config, cwd=cwd, env={**os.environ, "PRODSHIELD_TOKEN": token})


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
    ``token``, then ``rest`` (the checks, sources and so on); return its path. Port 0 unless
    something must know the port before serve starts (``serving`` reads the one it bound)."""
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
    port: int
    """The port it bound (read from its first line: the config's, or a free one for port 0)."""
    head: str = ""
    out: str = ""
    """serve's stdout (``head`` included), once it is stopped."""
    err: str = ""
    """serve's stderr, once it is stopped."""

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``, no final slash."""
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serving(
    config: Path, *, env: dict[str, str] | None = None, stop_timeout: float = 30.0
) -> Iterator[Serving]:
    """Run ``prodshield serve -c CONFIG`` in the config's folder for the block (on the config's
    port: 0 in the journeys, and ``Serving.port`` is the one it bound); stop it on leaving, and
    when the block ended without an error, fail if serve wrote a traceback."""
    proc = start_serve(config, cwd=config.parent, env=env)
    try:
        port, head = read_bound(proc)
    except BaseException:
        stop_serve(proc)
        raise
    running = Serving(proc, port, head)
    try:
        yield running
    finally:
        out, running.err = stop_serve(running.proc, timeout=stop_timeout)
        running.out = head + out
    assert "Traceback" not in running.err, running.err[-2000:]
