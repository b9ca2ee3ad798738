"""The store: one small interface over SQLite or PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from prodshield.errors import StoreError
from prodshield.store import partitions
from prodshield.store import tables as t
from prodshield.store.engine import READ_ONLY, make_engine, normalize_url, redact_url
from prodshield.store.migrations import MIGRATIONS, describe


@dataclass
class ComponentVersion:
    component: str
    current: int
    latest: int

    @property
    def up_to_date(self) -> bool:
        return self.current >= self.latest


class Store:
    """Persistence for every capability. Open with :func:`open_store`."""

    def __init__(self, url: str, *, base_dir: Path | None = None) -> None:
        self.url = normalize_url(url, base_dir)
        self.engine: Engine = make_engine(self.url)

    @property
    def backend(self) -> str:
        return "sqlite" if self.engine.dialect.name == "sqlite" else "postgresql"

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"store {self.display_url}: {_first_line(exc)}") from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading (nothing it writes is committed). On SQLite its transaction
        is deferred: it reads a snapshot and never holds the write lock."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{READ_ONLY: True})
                yield conn
        except OperationalError as exc:
            raise StoreError(f"store {self.display_url}: {_first_line(exc)}") from exc

    # --- migrations ------------------------------------------------------------------------

    def status(self) -> list[ComponentVersion]:
        current = self._versions()
        return [
            ComponentVersion(name, current.get(name, 0), len(steps))
            for name, steps in MIGRATIONS.items()
        ]

    def _versions(self) -> dict[str, int]:
        with self.begin() as conn:
            t.schema_versions.create(conn, checkfirst=True)
            rows = conn.execute(select(t.schema_versions.c.component, t.schema_versions.c.version))
            return {r.component: r.version for r in rows}

    def upgrade(self) -> list[str]:
        """Apply every pending migration step; return a line per step applied.

        Several processes may start at once: PostgreSQL serialises them with an advisory lock,
        SQLite with ``BEGIN IMMEDIATE``.
        """
        applied: list[str] = []
        try:
            with self.begin() as conn:
                if self.backend == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7243019)")
                t.schema_versions.create(conn, checkfirst=True)
                rows = conn.execute(
                    select(t.schema_versions.c.component, t.schema_versions.c.version)
                )
                current = {r.component: r.version for r in rows}
                for component, steps in MIGRATIONS.items():
                    have = current.get(component, 0)
                    for number, step in enumerate(steps[have:], start=have + 1):
                        step(conn)
                        applied.append(describe(component, number, step, new_store=have == 0))
                    if len(steps) > have:
                        values = {"version": len(steps), "applied_at": time.time()}
                        if component in current:
                            conn.execute(
                                t.schema_versions.update()
                                .where(t.schema_versions.c.component == component)
                                .values(**values)
                            )
                        else:
                            conn.execute(
                                t.schema_versions.insert().values(component=component, **values)
                            )
                if self.backend == "postgresql":
                    partitions.ensure(conn)  # the coming days' partitions of check_results
        except SQLAlchemyError as exc:
            raise StoreError(
                f"store {self.display_url}: migration failed: {_first_line(exc)}"
            ) from exc
        return applied

    # --- small key/value state ---------------------------------------------------------------

    def kv_get(self, namespace: str, key: str, default: Any = None) -> Any:
        with self.connect() as conn:
            row = conn.execute(
                select(t.kv.c.value).where(t.kv.c.namespace == namespace, t.kv.c.key == key)
            ).first()
        return default if row is None else row.value

    def kv_set(self, namespace: str, key: str, value: Any) -> None:
        with self.begin() as conn:
            conn.execute(delete(t.kv).where(t.kv.c.namespace == namespace, t.kv.c.key == key))
            conn.execute(
                t.kv.insert().values(
                    namespace=namespace, key=key, value=value, updated_at=time.time()
                )
            )

    def count(self, table: Table) -> int:
        with self.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def open_store(url: str, *, base_dir: Path | None = None, migrate: bool = True) -> Store:
    """Open the store at ``url`` and, unless told not to, bring its schema up to date."""
    store = Store(url, base_dir=base_dir)
    if migrate:
        try:
            store.upgrade()
        except StoreError:
            store.close()
            raise
    return store


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
