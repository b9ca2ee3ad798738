"""What a database battery run is given (``prodshield chaos db`` options)."""

from __future__ import annotations

from dataclasses import dataclass

APP_NAME = "prodshield-db-battery"


@dataclass
class DbOptions:
    dsn: str
    api: str = "http://127.0.0.1:8474"
    proxy: str = "prodshield-db"
    seconds: float = 10.0
    seed: int = 1
    workers: int = 2
    accounts: int = 8
    balance: int = 100
    service: str | None = None
    pool_size: int = 4
    acquire_timeout: float = 0.5
    phase_s: float = 0.5  # how long each fault of the schedule lasts
    gap_s: float = 0.5  # healthy time between two faults
    min_rate: float = 50.0  # transfers per second per worker
    checks: tuple[str, ...] = ("bank", "mid-transaction", "pool")
