"""Shared fixtures: the store on both backends, and service reachability rules.

PostgreSQL tests use the real server at 127.0.0.1:5432 (database ``test``), each test in a schema
of its own so parallel runs never see each other's rows. Under ``CI=true`` a test that would skip
because PostgreSQL or Redis is unreachable fails instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_HOST = os.environ.get("PRODSHIELD_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PRODSHIELD_TEST_PG_PORT", "5432"))
PG_DB = os.environ.get("PRODSHIELD_TEST_PG_DB", "test")
PG_USER = os.environ.get("PRODSHIELD_TEST_PG_USER", "postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    """Skip when a service is down, except under CI where that is a failure."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service is a failure)")
    pytest.skip(message)


def pg_base_url() -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}"


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
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str) -> Iterator[object]:
    from prodshield.store import open_store

    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()
