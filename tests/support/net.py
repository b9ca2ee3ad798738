"""Loopback networking for tests: a free port, and waiting until something is true."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago (bind port 0, then close)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Call ``probe`` every 0.2 s until it returns something truthy; return that, or fail the
    test naming ``what`` after ``timeout`` seconds (exceptions of the probe count as not yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except Exception:  # the server is still starting: not yet
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)
