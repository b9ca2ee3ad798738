"""Following across rotation with offsets in the store; kill -9 and restart lose and repeat nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from prodshield.logs.sources.files import SKIPPED_LINE, is_binary
from prodshield.logs.sources.follow import FileFollower
from prodshield.store import Store, open_store

CHILD = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import text
    from prodshield.logs.sources.follow import FileFollower
    from prodshield.store import open_store

    store = open_store(sys.argv[1])
    with store.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS received (line TEXT NOT NULL)"))
    follower = FileFollower(store, sys.argv[2])
    deadline = time.monotonic() + 600  # killed by the test long before
    while time.monotonic() < deadline:
        lines = follower.poll(max_bytes=4096, commit=False)
        if lines:
            with store.begin() as conn:
                conn.execute(text("INSERT INTO received (line) VALUES (:l)"), [{"l": x} for x in lines])
                follower.commit(conn)
        else:
            time.sleep(0.005)
    """
)


def _received(db: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            try:
                return [r[0] for r in conn.execute(text("SELECT line FROM received"))]
            except Exception:
                return []
    finally:
        engine.dispose()


def _start(db: Path, log: Path, script: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(script), f"sqlite:///{db}", str(log)])


def _wait_for(db: Path, count: int, timeout: float = 90.0) -> None:
    """Until the follower has stored ``count`` lines, or fail: a wait that ran out in silence let
    the copytruncate below cut lines a loaded machine's restarted child had not read yet (a bound
    for a loaded machine, not a timing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_received(db)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the follower stored {len(_received(db))} of {count} lines")


def test_kill_restart_and_rotation_lose_and_repeat_nothing(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    log = tmp_path / "app.log"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    open_store(f"sqlite:///{db}").close()
    log.write_text("line 0 some payload text\n")
    child = _start(db, log, script)
    written = 1
    # the follower must know the file before it can follow it through a rotation
    _wait_for(db, 1)
    assert len(_received(db)) == 1
    out = log.open("a")
    try:
        for step in range(8):
            for _ in range(200):
                out.write(f"line {written} some payload text\n")
                written += 1
                if written % 50 == 0:
                    out.flush()
            out.flush()
            if step % 3 == 0:
                # kill -9 in the middle of the stream, then restart
                child.send_signal(signal.SIGKILL)
                child.wait(5)
                child = _start(db, log, script)
            if step % 4 == 1:
                # rename-and-create while the follower may be behind (or dead)
                out.close()
                os.replace(log, tmp_path / "app.log.1")
                out = log.open("a")
            if step % 4 == 3:
                # copytruncate: logrotate copies then truncates; lines written between would be lost
                # by any tailer, so rotation happens once the follower has caught up
                out.flush()
                _wait_for(db, written)
                (tmp_path / "app.log.2").write_bytes(log.read_bytes())
                out.truncate(0)
                out.seek(0)
        out.flush()
        _wait_for(db, written)
    finally:
        out.close()
        child.send_signal(signal.SIGKILL)
        child.wait(5)
    got = _received(db)
    bad = [line for line in got if len(line.split()) != 5]
    assert not bad, bad[:5]
    numbers = [int(line.split()[1]) for line in got]
    missing = sorted(set(range(written)) - set(numbers))
    assert len(numbers) == written, (len(numbers), written, missing[:3], missing[-3:])
    assert sorted(numbers) == list(range(written))


def test_poll_reads_whole_lines_and_resumes(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\ntwo\nthr")
    follower = FileFollower(store, str(log))
    assert follower.poll() == ["one", "two"]
    with log.open("ab") as fh:
        fh.write(b"ee\n")
    assert follower.poll() == ["three"]
    follower.close()
    again = FileFollower(store, str(log))
    assert again.poll() == []
    with log.open("ab") as fh:
        fh.write(b"four\n")
    assert again.poll() == ["four"]
    again.close()


def test_an_unfinished_line_is_held_then_delivered_when_it_will_not_complete(
    tmp_path: Path, store: Store
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\nFATAL out of mem")
    follower = FileFollower(store, str(log), partial_after=1.0)
    assert follower.poll() == ["one"]
    assert follower.bytes_behind == 0  # held for its writer, not lag
    time.sleep(0.6)
    with log.open("ab") as fh:
        fh.write(b"ory")  # it grows: the wait starts again
    assert follower.bytes_behind == 3 + len(b"FATAL out of mem")
    time.sleep(0.6)
    assert follower.poll() == []  # 1.2 s since first seen, but it grew since
    assert follower.bytes_behind == 0
    time.sleep(1.1)
    assert follower.poll() == ["FATAL out of memory"]
    assert follower.bytes_behind == 0
    with log.open("ab") as fh:
        fh.write(b"two\n")
    assert follower.poll() == ["two"]
    follower.close()


def test_an_unfinished_line_is_delivered_when_the_file_rotates(
    tmp_path: Path, store: Store
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\nhalf a li")
    follower = FileFollower(store, str(log), partial_after=None)
    assert follower.poll() == ["one"]
    assert follower.poll() == []
    log.rename(tmp_path / "a.log.1")  # logrotate's rename-and-create
    log.write_bytes(b"new\n")
    assert follower.poll() == ["half a li", "new"]
    follower.close()

    other = tmp_path / "b.log"
    other.write_bytes(b"one\nhalf a li")
    follower = FileFollower(store, str(other), partial_after=None)
    assert follower.poll() == ["one"]
    other.write_bytes(b"")  # copytruncate
    with other.open("ab") as fh:
        fh.write(b"after\n")
    assert follower.poll() == ["half a li", "after"]
    follower.close()


def test_a_line_cut_at_max_line_drops_its_rest(tmp_path: Path, store: Store) -> None:
    """The rest of a runaway line is not a line of its own (it was: an event of garbage, and
    every finding after it named the line below its own), as `logs scan` reads the same file."""
    from prodshield.logs.sources.follow import MAX_LINE

    log = tmp_path / "a.log"
    log.write_bytes(b"one\n" + b"x" * (MAX_LINE + 300_000) + b"\nthree\n")
    follower = FileFollower(store, str(log))
    lines: list[str] = []
    for _ in range(5):
        lines += follower.poll(max_bytes=MAX_LINE)
    assert [len(x) for x in lines] == [3, MAX_LINE, 5]
    assert lines[-1] == "three"
    assert follower.position.lines == 3
    with log.open("ab") as fh:
        fh.write(b"four\n")
    assert follower.poll() == ["four"]
    assert follower.first_line == 4
    follower.close()


def test_hostile_bytes_decode_as_they_would_line_by_line(tmp_path: Path, store: Store) -> None:
    """A block is decoded at once: invalid UTF-8 cut by a newline, CRLF, a lone CR, NUL and
    surrogate bytes give each line the text decoding that line alone gives (a binary line, with
    a NUL, the readers' ``SKIPPED_LINE``, counted)."""
    import random

    rnd = random.Random(19)
    pieces = [b"\r", b"\r\n", b"\xe2", b"\x82", b"\xe2\x82\xac", b"\xf0\x9f", b"\x98\x80"]
    pieces += [b"\xff", b"\xc3", b"\xa9", b"\xed\xa0\x80", b"\x00", b"a", b" ", b"\n"]
    data = b"".join(rnd.choice(pieces) for _ in range(20_000)) + b"\xe2\x82\r\n\xa9\n"
    log = tmp_path / "app.log"
    log.write_bytes(data)
    follower = FileFollower(store, str(log))
    got = follower.poll(max_bytes=1 << 20)
    lines = [raw[:-1] if raw.endswith(b"\r") else raw for raw in data.split(b"\n")[:-1]]
    want = ["" if is_binary(raw) else raw.decode("utf-8", "replace") for raw in lines]
    assert got == want
    assert got[-2:] == ["\ufffd", "\ufffd"]
    skipped = [line for line in got if line is SKIPPED_LINE]
    assert skipped and follower.binary == len(skipped) == sum(map(is_binary, lines))
