"""`serve` with the config `init` writes: the store beside shield.yaml and `audit.paths: ["."]`.

The periodic audit walks the folder that holds the live SQLite store. Opening and closing the
store's files inside `serve` dropped SQLite's POSIX locks: the WAL was deleted under the running
connection, other processes stopped seeing serve's writes and the store was corrupted. The audit
must judge those files by name and mode only, never open them.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from support.net import refused_port, wait_until


def test_the_audit_of_the_store_folder_leaves_the_live_store_alone(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        f"""
storage: sqlite:///prodshield.db
checks:
  - {{name: cache, type: tcp, host: 127.0.0.1, port: {refused_port()}, interval: 1s}}
audit:
  paths: ["."]
  schedule: "* * * * *"
"""
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prodshield",
            "serve",
            "-c",
            "shield.yaml",
            "--port",
            "0",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PRODSHIELD_TOKEN": "store-dir-token-0123456789abcdef"},
    )
    try:
        deadline = time.time() + 90
        runs: list[object] = []
        while time.time() < deadline and not runs:
            # another process opens and closes the store, as a user's `audit history` does; with
            # serve's locks dropped by the audit, its close took itself for the store's last user
            # and deleted the WAL under serve
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(1)
            history = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "prodshield",
                    "audit",
                    "history",
                    "-c",
                    "shield.yaml",
                    "--format",
                    "json",
                ],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if history.returncode == 0 and history.stdout.strip().startswith(("[", "{")):
                data = json.loads(history.stdout)
                runs = data if isinstance(data, list) else data.get("runs", [])
        assert runs, "the audit never ran"
        audited = time.time()
        time.sleep(3)  # results written after that
        deleted = [
            os.readlink(f"/proc/{proc.pid}/fd/{fd}")
            for fd in os.listdir(f"/proc/{proc.pid}/fd")
            if os.readlink(f"/proc/{proc.pid}/fd/{fd}").endswith("(deleted)")
        ]
        assert deleted == []  # the WAL and the shared memory are still the files on disk
        assert (tmp_path / "prodshield.db-wal").exists()

        def newest() -> float:
            with sqlite3.connect(f"file:{tmp_path / 'prodshield.db'}?mode=ro", uri=True) as c:
                return float(c.execute("SELECT max(ts) FROM check_results").fetchone()[0] or 0)

        # another process sees serve's writes after the audit (a check result newer than it; a
        # fixed "in the last 5 s" could miss on a loaded machine, whose serve writes later)
        wait_until(lambda: newest() > audited, "a check result written after the audit")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with sqlite3.connect(tmp_path / "prodshield.db") as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
