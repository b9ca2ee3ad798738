"""Several processes opening a new SQLite store at once wait their turn: switching a new file to
WAL takes a lock SQLite does not wait for, and one of them failed with 'database is locked'."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from prodshield.store import engine
from prodshield.store.store import Store, open_store


def test_new_stores_opened_by_eight_at_once_all_open(tmp_path: Path) -> None:
    # 40 new files, 8 openers each (threads: SQLite locks per connection, as between processes);
    # before, about 1 file in 13 gave one opener 'database is locked'
    errors: list[BaseException] = []
    for i in range(40):
        url = f"sqlite:///{tmp_path}/store{i}.db"

        def go(url: str = url) -> None:
            try:
                open_store(url).close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=go) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        store = Store(url)
        assert all(v.up_to_date for v in store.status())
        store.close()
    assert errors == []


class _Cursor:
    def __init__(self, failures: int, message: str = "database is locked") -> None:
        self.failures, self.message, self.ran = failures, message, 0

    def execute(self, sql: str) -> Any:
        self.ran += 1
        if self.ran <= self.failures:
            raise sqlite3.OperationalError(self.message)
        return None


def test_a_locked_pragma_is_tried_again() -> None:
    cur = _Cursor(failures=3)
    engine._patient(cur, "PRAGMA journal_mode=WAL")
    assert cur.ran == 4


def test_other_errors_and_a_lock_past_the_wait_are_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        engine._patient(_Cursor(failures=1, message="disk I/O error"), "PRAGMA journal_mode=WAL")
    monkeypatch.setattr(engine, "PRAGMA_WAIT_S", 0.05)
    cur = _Cursor(failures=10_000)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        engine._patient(cur, "PRAGMA journal_mode=WAL")
    assert 1 < cur.ran < 100
