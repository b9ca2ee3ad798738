"""The web tests' fixtures: the app on a seeded store (both backends), through Starlette's client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from prodshield.store import Store
from prodshield.web import create_app
from support.web_seed import TOKEN, loaded_config, seed


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    seed(store)
    app = create_app(loaded_config(tmp_path), store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
