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


def wait_until(
    predicate: Callable[[], T], what: str, timeout: float = 60.0, interval: float = 0.3
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy and return
    that; fail the test naming ``what`` (and the last value) after ``timeout`` seconds. An
    ``OSError`` (a server still starting, a refused connection) counts as not yet."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError:
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
