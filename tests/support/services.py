"""The real services the tests use (PostgreSQL, Redis) and the rule for when they are down.

A test that needs a service calls ``need_service``: it skips when the service is unreachable,
except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import os
import socket

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
