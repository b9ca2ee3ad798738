"""The chaos tests' fixtures: the fault proxy on a thread and the loopback upstreams behind it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.chaos_proxy import ProxyThread, Upstreams


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    u = Upstreams()
    yield u
    u.close()


@pytest.fixture
def api() -> Iterator[ProxyThread]:
    p = ProxyThread()
    yield p
    p.close()
