"""The audit tests' fixtures: the TLS bench (real TLS servers on loopback, a private CA)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prodshield.audit.tlsbench import TlsBench


@pytest.fixture(scope="module")
def bench() -> Iterator[TlsBench]:
    with TlsBench() as b:
        yield b
