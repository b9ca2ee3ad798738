"""Journey: an on-call engineer on the command line finds the incident a failing check opened and
acts on it by its id, without the dashboard or JSON.

`monitor once` against a port that refuses connections opens an incident: the table run says so
under its table, with the id. `incident list` shows it open; `incident ack ID` takes that id;
`incident list` then says who acknowledged it; `incident show ID` prints it whole (error kinds,
failing condition, the note, with the escape sequences in the note removed); while it is open both
say it is "ongoing for" its age (they said "lasted", as of an incident that is over). Once the target
answers, the next `monitor once` says it resolved, and `incident list` (open ones) is empty while
`--status all` and `--json` still list it.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

from support.alerting import cli


def test_incident_ids_from_monitor_once_to_list_show_and_ack(tmp_path: Path) -> None:
    target = socket.socket()
    target.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    port = target.getsockname()[1]
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "checks:\n"
        f"  - {{name: orders, type: tcp, host: 127.0.0.1, port: {port},"
        " failure_threshold: 2, success_threshold: 1}\n"
    )
    try:
        first = cli(tmp_path, "monitor", "once")
        assert first.returncode == 1, first.stderr
        assert "incident #" not in first.stdout  # one failure of two: no incident yet
        second = cli(tmp_path, "monitor", "once")
        assert second.returncode == 1, second.stderr
        assert "incident #1 opened: orders down (critical)" in second.stdout

        listed = cli(tmp_path, "incident", "list")
        assert listed.returncode == 0, listed.stderr
        row = next(line for line in listed.stdout.splitlines() if "#1" in line)
        assert row.split()[:5] == ["#1", "orders", "-", "down", "critical"]
        assert row.rstrip().endswith("open")
        # an open incident's age is how long it has been going on, not how long it "lasted"
        assert "duration" in listed.stdout and "lasted" not in listed.stdout, listed.stdout
        assert re.search(r" ongoing for \d+\w* ", row), row

        acked = cli(
            tmp_path, "incident", "ack", "1", "--by", "dana", "--note", "on it \x1b]0;pwn\x07now"
        )
        assert acked.returncode == 0, acked.stderr
        listed = cli(tmp_path, "incident", "list")
        assert "open, acked by dana" in listed.stdout

        shown = cli(tmp_path, "incident", "show", "1")
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert lines[0] == "incident #1: orders down (critical), open"
        assert "errors   refused" in lines
        assert "failing  [CONNECTED] (false) == true" in lines
        assert any(re.fullmatch(r"ongoing for \d+\w*", line) for line in lines), lines
        assert not any(line.startswith("lasted") for line in lines), lines
        note = next(line for line in lines if line.startswith("note "))
        assert note.endswith("dana: on it ␛]0;pwn␇now") and "\x1b" not in shown.stdout

        missing = cli(tmp_path, "incident", "show", "7")
        assert missing.returncode == 2 and "no incident 7" in missing.stderr
        wrong = cli(tmp_path, "incident", "list", "--status", "closed")
        assert wrong.returncode == 2 and "--status must be one of" in wrong.stderr
        assert "Traceback" not in wrong.stderr
    finally:
        target.close()

    server = socket.socket()
    server.bind(("127.0.0.1", port))  # the same port now answers
    server.listen(8)
    try:
        third = cli(tmp_path, "monitor", "once")
        assert third.returncode == 0, third.stdout + third.stderr
        assert "incident #1 resolved: orders down (critical)" in third.stdout
    finally:
        server.close()
    assert cli(tmp_path, "incident", "list").stdout.strip() == "no open incidents"
    everything = cli(tmp_path, "incident", "list", "--status", "all", "--json")
    incidents = json.loads(everything.stdout)["incidents"]
    assert [(i["id"], i["status"], i["acknowledged_by"]) for i in incidents] == [
        (1, "resolved", "dana")
    ]
    assert incidents[0]["notes"][0]["by"] == "dana"
    resolved = cli(tmp_path, "incident", "list", "--status", "all")
    assert "ongoing" not in resolved.stdout, resolved.stdout
    after = cli(tmp_path, "incident", "show", "1").stdout.splitlines()
    assert any(re.fullmatch(r"lasted   \d+\w*", line) for line in after), after
