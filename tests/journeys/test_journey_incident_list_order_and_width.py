"""Journey: `incident list` at 80 columns kept the check names whole but wrapped the duration
(`ongoing for 3m` / `44s`), and three incidents opened in the same second (one outage) listed
as #5, #7, #6. Durations now stay whole, and the list is newest first by opened time, then by id
(CLI as a subprocess on the store `monitor once` wrote)."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import time
from pathlib import Path

from support.alerting import cli

NAMES = ("orders-api-primary", "payments-gateway", "inventory-sync")


def test_incident_list_keeps_durations_whole_and_same_second_incidents_by_id(
    tmp_path: Path,
) -> None:
    target = socket.socket()
    target.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    port = target.getsockname()[1]
    checks = "".join(
        f"  - {{name: {name}, type: tcp, host: 127.0.0.1, port: {port}, failure_threshold: 1,"
        " environments: [production]}\n"
        for name in NAMES
    )
    (tmp_path / "shield.yaml").write_text(
        f"storage: sqlite:///store.db\nenvironments: {{production: {{}}}}\nchecks:\n{checks}"
    )
    try:
        opened = cli(tmp_path, "monitor", "once")
    finally:
        target.close()
    assert opened.stdout.count("opened") == 3, opened.stdout + opened.stderr
    # the same second, fractions out of id order (as concurrent checks record them), 3m 5s ago
    # (the commands below take seconds: it is still `3m` and some seconds when listed)
    second = float(int(time.time()) - 185)
    with sqlite3.connect(tmp_path / "store.db") as db:
        for incident_id, fraction in ((1, 0.9), (2, 0.1), (3, 0.5)):
            db.execute(
                "UPDATE incidents SET opened_at = ? WHERE id = ?",
                (second + fraction, incident_id),
            )
    acked = cli(tmp_path, "incident", "ack", "2", "--by", "alice.oncall")
    assert acked.returncode == 0, acked.stderr  # a long state: the table must wrap something
    os.environ["COLUMNS"] = "80"
    try:
        listed = cli(tmp_path, "incident", "list")
        everything = cli(tmp_path, "incident", "list", "--json")
    finally:
        del os.environ["COLUMNS"]
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if line.lstrip().startswith("#")]
    assert [row.split()[0] for row in rows] == ["#3", "#2", "#1"], listed.stdout
    # every duration whole: `3m 12s` on one line, never `3m` / `12s`
    assert len(re.findall(r"\b3m \d+s\b", listed.stdout)) == 3, listed.stdout
    assert listed.stdout.count("ongoing") == 3, listed.stdout
    assert "\u00a0" not in listed.stdout  # the no-break space that holds it is printed as a space
    assert all(len(line) <= 80 for line in listed.stdout.splitlines()), listed.stdout
    assert '"id": 3' in everything.stdout.split('"id": 2')[0], everything.stdout
