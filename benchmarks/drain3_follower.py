"""Drain3 doing the template work of ``prodshield serve``'s follower: the second baseline of
benchmarks/logs_follow.py (run as a subprocess; it imports nothing of prodshield, so its start-up
is Drain3's own).

Usage: python benchmarks/drain3_follower.py FILE STORE.db STATE [--window 5]
       python benchmarks/drain3_follower.py --blocks N --source SRC FILE STORE.db STATE

It follows FILE as serve does: reads what was appended (up to 8 MiB a poll, whole lines), and
when caught up sleeps until the next poll (1 s) or the end of the window. Each line goes to a
Drain3 ``TemplateMiner`` (default settings plus the masking instructions of
``logs_throughput.run_drain3``); it keeps hourly counts per cluster and each cluster's template,
and every window writes the window's counts (added to the stored ones), the templates seen and its
file offset to a SQLite file (WAL, as serve's store) in one transaction. Drain3's state is
snapshotted every minute through Drain3's own ``FilePersistence`` (its periodic snapshot; serve
saves its miner once a minute too, so the saves Drain3 makes by default at every new or changed
cluster are left out). SIGTERM: a last window is written, then it exits.

With ``--blocks N`` it is the breakdown's row: SRC's first N lines appended to FILE in blocks of
20,000, a poll after each and a window every 5 blocks (as benchmarks/logs_follow.py's ``_stage``
feeds serve's loop); prints the CPU seconds of that loop.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from drain3 import TemplateMiner
from drain3.file_persistence import FilePersistence
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

READ_CHUNK = 1 << 20
POLL_BYTES = 8 * READ_CHUNK  # serve's follower reads up to 8 MiB a poll
POLL_S = 1.0

# the same as logs_throughput.run_drain3 (and logs_parse's Drain3 baseline)
MASKING = [
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
]


class MinuteSnapshots(TemplateMiner):  # type: ignore[misc]
    """Drain3's miner with only its periodic snapshot (``snapshot_interval_minutes``)."""

    def get_snapshot_reason(self, change_type: str, cluster_id: int) -> str | None:
        result: str | None = super().get_snapshot_reason("none", cluster_id)
        return result


class Drain3Follower:
    def __init__(self, path: Path, db: Path, state: Path, window_s: float) -> None:
        logging.getLogger("drain3").setLevel(logging.ERROR)
        config = TemplateMinerConfig()
        config.masking_instructions = [MaskingInstruction(p, name) for p, name in MASKING]
        config.snapshot_interval_minutes = 1
        self.miner = MinuteSnapshots(FilePersistence(str(state)), config)
        self.window_s = window_s
        self.db = sqlite3.connect(str(db), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS templates (id INTEGER PRIMARY KEY, template TEXT,"
            " count INTEGER, first_seen REAL, last_seen REAL);"
            "CREATE TABLE IF NOT EXISTS template_counts (id INTEGER, hour INTEGER,"
            " count INTEGER, PRIMARY KEY (id, hour));"
            "CREATE TABLE IF NOT EXISTS offsets (path TEXT PRIMARY KEY, offset INTEGER);"
        )
        self.path = str(path)
        row = self.db.execute("SELECT offset FROM offsets WHERE path = ?", (self.path,)).fetchone()
        self.fd = os.open(self.path, os.O_RDONLY)
        os.lseek(self.fd, row[0] if row else 0, os.SEEK_SET)
        self.rest = b""
        self.counts: Counter[tuple[int, int]] = Counter()
        self.seen: dict[int, list[float]] = {}  # cluster id -> [first, last] in this window

    def poll(self) -> bool:
        """Mine what was appended; True when the file has more to read."""
        chunks = [self.rest]
        budget = POLL_BYTES
        while budget > 0:
            chunk = os.read(self.fd, min(READ_CHUNK, budget))
            if not chunk:
                break
            chunks.append(chunk)
            budget -= len(chunk)
        if len(chunks) > 1:
            data = b"".join(chunks)
            end = data.rfind(b"\n") + 1
            self.rest = data[end:]
            now = time.time()
            hour = int(now // 3600) * 3600
            add = self.miner.add_log_message
            counts = self.counts
            seen = self.seen
            for raw in data[:end].split(b"\n")[:-1]:
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
                if not raw:
                    continue
                cluster = add(raw.decode("utf-8", "replace"))["cluster_id"]
                counts[(cluster, hour)] += 1
                times = seen.get(cluster)
                if times is None:
                    seen[cluster] = [now, now]
                else:
                    times[1] = now
        return os.fstat(self.fd).st_size > os.lseek(self.fd, 0, os.SEEK_CUR)

    def flush(self) -> None:
        """The window's counts, templates and offset in one transaction."""
        clusters = self.miner.drain.id_to_cluster
        totals: Counter[int] = Counter()
        for (cluster, _), n in self.counts.items():
            totals[cluster] += n
        offset = os.lseek(self.fd, 0, os.SEEK_CUR) - len(self.rest)
        db = self.db
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO template_counts (id, hour, count) VALUES (?, ?, ?) ON CONFLICT (id, hour)"
            " DO UPDATE SET count = count + excluded.count",
            [(cluster, hour, n) for (cluster, hour), n in self.counts.items()],
        )
        db.executemany(
            "INSERT INTO templates (id, template, count, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET template = excluded.template,"
            " count = count + excluded.count, last_seen = excluded.last_seen",
            [
                (cluster, clusters[cluster].get_template(), totals[cluster], first, last)
                for cluster, (first, last) in self.seen.items()
            ],
        )
        db.execute(
            "INSERT INTO offsets (path, offset) VALUES (?, ?)"
            " ON CONFLICT (path) DO UPDATE SET offset = excluded.offset",
            (self.path, offset),
        )
        db.execute("COMMIT")
        self.counts.clear()
        self.seen.clear()

    def run(self) -> None:
        stop = False

        def on_term(*_: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_term)
        window_end = time.monotonic() + self.window_s
        while not stop:
            behind = self.poll()
            if time.monotonic() >= window_end:
                self.flush()
                window_end = time.monotonic() + self.window_s
            if not behind and not stop:
                time.sleep(min(POLL_S, max(0.0, window_end - time.monotonic())))
        self.flush()


def blocks(source: Path, lines: int, follower_args: list[str]) -> float:
    """The breakdown's row: CPU seconds of the loop over ``lines`` lines of ``source``."""
    data = source.read_bytes().splitlines(keepends=True)[:lines]
    path = Path(follower_args[0])
    path.write_bytes(b"")
    follower = Drain3Follower(path, Path(follower_args[1]), Path(follower_args[2]), 1e9)
    step = 20_000
    chunks = [b"".join(data[i : i + step]) for i in range(0, len(data), step)]
    start = time.process_time()
    for n, chunk in enumerate(chunks, 1):
        with path.open("ab") as out:
            out.write(chunk)
        while follower.poll():
            pass
        if n % 5 == 0:
            follower.flush()
    follower.flush()
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("db", type=Path)
    parser.add_argument("state", type=Path)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--blocks", type=int, default=0)
    parser.add_argument("--source", type=Path)
    args = parser.parse_args(argv)
    if args.blocks:
        print(blocks(args.source, args.blocks, [str(args.file), str(args.db), str(args.state)]))
        return 0
    Drain3Follower(args.file, args.db, args.state, args.window).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
