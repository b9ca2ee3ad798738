"""Journey: `prodshield serve` on a port another server holds says so in one line, and runs nothing.

uvicorn's own answer was an `ERROR:    [Errno 98] error while attempting to bind on address ...`
log line, printed after the background services had started probing checks into the store. Now
the address is tried first: `error: cannot listen on 127.0.0.1:PORT: Address already in use
(... --port or serve.port)`, exit 3, and no check has run.
"""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from support.cli import prodshield


def test_port_in_use_is_one_line_and_nothing_runs(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        'serve: {host: 127.0.0.1, token: "journey-token-0123456789abcdef"}\n'
        "checks:\n"
        "  - {name: closed, type: tcp, host: 127.0.0.1, port: 1, interval: 1s}\n"
    )
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = prodshield(tmp_path, "serve", "--port", str(port), timeout=60)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert done.stderr.splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (another prodshield "
        "serve, or another server? choose one with --port or serve.port)"
    ]
    assert "prodshield serving" not in done.stdout
    db = tmp_path / "store.db"
    if db.exists():
        with sqlite3.connect(db) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "check_results" in tables:
                assert conn.execute("SELECT count(*) FROM check_results").fetchone()[0] == 0
