"""Opening the database: URL normalisation and per-backend connection settings."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

from prodshield.errors import StoreError


def normalize_url(url: str, base_dir: Path | None = None) -> str:
    """Accept the URLs users write and return what SQLAlchemy needs.

    ``postgresql://`` and ``postgres://`` use psycopg 3; a relative SQLite path is taken relative to
    ``base_dir`` (the config file's folder) so the store does not move with the working directory.
    """
    url = url.strip()
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+"):
        return url
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://") :]
        if rest in ("", "/", "/:memory:"):
            return "sqlite://"
        path = rest[1:] if rest.startswith("/") else rest
        p = Path(path)
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        return f"sqlite:///{p}"
    raise StoreError(
        f"storage: unsupported URL {redact_url(url)!r} (use sqlite:///file.db or postgresql://...)"
    )


def redact_url(url: str) -> str:
    """Hide the password in a database URL."""
    if "://" in url and "@" in url.split("://", 1)[1]:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        return f"{scheme}://{creds}@{host}"
    return url


log = logging.getLogger(__name__)


def private_sqlite_file(path: Path) -> None:
    """Make the SQLite store readable by its owner only (it holds heartbeat tokens, the marker
    key, findings): a new file is created 0600 before SQLite opens it (SQLite gives the -wal and
    -shm files the database's mode), an existing one that group or others can read is tightened."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return
    except FileExistsError:
        pass
    except OSError:
        return  # SQLite will say what is wrong with the path
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            st = part.stat()
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077 and st.st_uid == os.geteuid():
                os.chmod(part, 0o600)
                log.info("store file %s was readable by others: now 0600", part)
        except OSError:
            continue


READ_ONLY = "prodshield_read_only"
"""Execution option of the connections :meth:`Store.connect` hands out (reads only)."""


PRAGMA_WAIT_S = 30.0
"""How long a connection retries a pragma that found the database locked (the busy timeout's)."""


def _patient(cur: Any, pragma: str) -> None:
    """Run ``pragma``, retrying while the database is locked. Switching a new file to WAL takes
    a lock SQLite does not wait for (no busy handler, to avoid a deadlock): several processes
    opening a new store at once (``serve`` and a ``monitor once`` started together) failed with
    'database is locked' at once instead of waiting their turn."""
    deadline = time.monotonic() + PRAGMA_WAIT_S
    delay = 0.002
    while True:
        try:
            cur.execute(pragma)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


WAL_LIMIT_BYTES = 64 * 2**20
"""What the SQLite WAL file is cut back to each time it starts over after a checkpoint. A long
reader (a backup, an open ``sqlite3`` shell, a slow page) holds checkpoints back, the WAL grows
meanwhile, and without a limit the file kept that size for good once the reader was gone."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url == "sqlite://":
            engine = create_engine(url, poolclass=NullPool)
        else:
            path = Path(url[len("sqlite:///") :])
            if not path.parent.exists():
                raise StoreError(f"storage: folder {path.parent} does not exist")
            private_sqlite_file(path)
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Python's sqlite3 opens transactions lazily; take control so BEGIN IMMEDIATE works.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # a new store reclaims the pages retention frees (PRAGMA incremental_vacuum); on an
            # existing store created without it this is a no-op until a full VACUUM
            cur.execute("PRAGMA busy_timeout=30000")
            _patient(cur, "PRAGMA auto_vacuum=INCREMENTAL")
            _patient(cur, "PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the write lock up front (no deadlock on a lock upgrade); readers
            # (Store.connect) read a WAL snapshot and never hold it: a long read (a rollup, the
            # dashboard's aggregates) must not stall the monitor's and the log follower's writes.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10},
    )
