"""Journey: a second `serve` or `monitor run` on the same SQLite store is refused, in one line.

An SRE starts `prodshield serve`, forgets it, and starts `prodshield monitor run` in another shell
on the same `shield.yaml`. Without a refusal both processes ran every check (two results per
interval, two incident engines on one check). On SQLite the second one now exits 2 naming the
first (its command and pid); once the first stops, the store is free again. (On PostgreSQL
instances share the checks instead: docs/monitor.md.)
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from support.cli import prodshield
from support.serve import serve_env, start_serve, stop_serve


def _results(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM check_results").fetchone()[0])


def test_second_runner_on_one_sqlite_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        'serve: {port: 0, host: 127.0.0.1, token: "journey-token-0123456789abcdef"}\n'
        "checks:\n"
        "  - {name: closed, type: tcp, host: 127.0.0.1, port: 1, interval: 1h}\n"
    )
    first = start_serve(tmp_path / "shield.yaml", cwd=tmp_path, env=serve_env(PYTHONUNBUFFERED="1"))
    try:
        assert first.stdout is not None
        line = first.stdout.readline()
        assert line.startswith("prodshield serving "), line
        deadline = time.monotonic() + 30
        while _results(tmp_path / "store.db") == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        ran = _results(tmp_path / "store.db")
        assert ran == 1

        for args in (("monitor", "run", "--duration", "2s"), ("serve", "--port", "0")):
            second = prodshield(tmp_path, *args, timeout=60)
            assert second.returncode == 2, (args, second.stdout, second.stderr)
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1, second.stderr
            assert lines[0].startswith("error: "), lines
            assert f"prodshield serve (pid {first.pid})" in lines[0], lines
            assert "PostgreSQL" in lines[0], lines
            assert "prodshield serving" not in second.stdout
        assert _results(tmp_path / "store.db") == ran  # the refused ones ran nothing
    finally:
        _, err = stop_serve(first)
    assert "Traceback" not in err, err

    after = prodshield(tmp_path, "monitor", "run", "--duration", "1s", timeout=60)
    assert after.returncode == 0, after.stderr
    assert _results(tmp_path / "store.db") == ran + 1
