"""The monitor tests' fixtures: a probe (the checks' shared connections) and a private PKI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from prodshield.monitor.probe import Probe
from support.certs import Pki, make_pki


@pytest.fixture
async def probe() -> AsyncIterator[Probe]:
    async with Probe() as p:
        yield p


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)
