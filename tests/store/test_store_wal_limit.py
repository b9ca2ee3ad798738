"""The SQLite WAL goes back to its limit once a long reader is gone: a reader holding a snapshot
(a backup, an open sqlite3 shell) keeps checkpoints from starting the WAL over, so it grows
meanwhile; before, the file then stayed at that size for good (on a long-running serve, the
largest it had ever been)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from prodshield.store.store import open_store

LIMIT = 64 * 2**20  # store/engine.py WAL_LIMIT_BYTES


def test_the_wal_is_cut_back_after_a_long_reader(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(f"sqlite:///{db}")
    try:
        store.kv_set("t", "seed", {"v": 1})
        reader = sqlite3.connect(db)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM kv").fetchone()  # holds its snapshot
        blob = "x" * 2**20
        for i in range(80):  # 80 MB written while the reader holds the WAL
            store.kv_set("t", f"k{i}", blob)
        wal = Path(f"{db}-wal")
        assert wal.stat().st_size > LIMIT
        reader.rollback()
        reader.close()
        for i in range(80):  # later writes: checkpoints complete, the WAL starts over
            store.kv_set("t", f"k{i}", {"v": i})
        assert wal.stat().st_size <= LIMIT
    finally:
        store.close()
