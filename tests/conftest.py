"""Shared fixtures: the store on both backends, and service reachability rules.

PostgreSQL tests use the real server at 127.0.0.1:5432 (database ``test``), each test in a schema
of its own so parallel runs never see each other's rows. Under ``CI=true`` a test that would skip
because PostgreSQL or Redis is unreachable fails instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.services import (
    PG_HOST,
    PG_PORT,
    REDIS_HOST,
    REDIS_PORT,
    need_service,
    pg_base_url,
)

if TYPE_CHECKING:
    from prodshield.store import Store


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    need_service("PostgreSQL", PG_HOST, PG_PORT)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_base_url(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_base_url()}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_base_url(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def redis_addr() -> tuple[str, int]:
    need_service("Redis", REDIS_HOST, REDIS_PORT)
    return REDIS_HOST, REDIS_PORT


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store test runs on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    from prodshield.store import open_store

    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()
