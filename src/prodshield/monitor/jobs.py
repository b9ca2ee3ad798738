"""``prodshield run-job``: run a command as the job behind a heartbeat check.

It sends ``/start``, runs the command (its output still reaches the terminal or the cron mail),
then ``/0`` on success or ``/<exit code>`` with the last ``OUTPUT_LIMIT`` bytes of output,
secrets masked, on failure. A ping that cannot be delivered is said on stderr and never changes
the job's own exit code.
"""

from __future__ import annotations

import io
import subprocess
import sys
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from typing import cast

from prodshield.monitor.heartbeats import OUTPUT_LIMIT, redact_output

PING_TIMEOUT = 10.0
PING_TRIES = 3


def send_signal(url: str, body: bytes | None = None, warn: Callable[[str], None] = print) -> bool:
    """GET (or POST ``body`` to) a ping URL, retried; False (and a warning) when it fails."""
    last = ""
    for _ in range(PING_TRIES):
        req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=PING_TIMEOUT) as resp:
                resp.read()
            return True
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code == 404:
                break  # an unknown token stays unknown
        except (OSError, ValueError) as exc:
            last = str(exc) or type(exc).__name__
    base, _token, signal = url.rsplit("/", 2)
    warn(f"prodshield run-job: could not send {signal} to {base}/…: {last}")
    return False


def exit_code_of(returncode: int) -> int:
    """A shell's exit code for a process result (killed by signal N: 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


def run_job(
    ping_url: str | None,
    command: Sequence[str],
    *,
    warn: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> int:
    """Run ``command`` between a start and a result signal to ``ping_url`` (None: no signals,
    the reason already said); return its exit code."""

    def signal(name: str, body: bytes | None = None) -> None:
        if ping_url is not None:
            send_signal(f"{ping_url}/{name}", body, warn=warn)

    signal("start")
    tail: deque[bytes] = deque()
    size = 0
    out = sys.stdout.buffer
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        message = f"prodshield run-job: cannot run {command[0]!r}: {exc.strerror or exc}"
        warn(message)
        code = 126 if isinstance(exc, PermissionError) else 127
        signal(str(code), (message + "\n").encode())
        return code
    stream = cast(io.BufferedReader, proc.stdout)
    with proc:
        for chunk in iter(lambda: stream.read1(65536), b""):
            out.write(chunk)
            out.flush()
            tail.append(chunk)
            size += len(chunk)
            while size - len(tail[0]) >= OUTPUT_LIMIT:
                size -= len(tail.popleft())
        returncode = proc.wait()
    code = exit_code_of(returncode)
    if code == 0:
        signal("0")
    else:
        text = b"".join(tail)[-OUTPUT_LIMIT:].decode("utf-8", "replace")
        signal(str(code), redact_output(text).encode())
    return code
