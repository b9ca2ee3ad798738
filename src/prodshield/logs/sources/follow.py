"""Following a growing log file across rotation, with the read offset kept in the store.

Each source's position (device, inode, byte offset, a fingerprint of its first bytes) is saved in
``log_offsets`` *after* the lines up to it were handed over, in the same call that returns them,
so a restart resumes exactly there: nothing lost, nothing read twice. Rotation is recognised by:

- rename-and-create (logrotate's default): the path now has another inode; the old file is read to
  its end first (through the descriptor still open), then the new one from its start;
- copytruncate: same inode but the size dropped below the offset (or the first bytes changed);
  reading restarts at 0.

Only whole lines are delivered: a last line without its newline yet (the writer is mid-line) is
*held*: it is not read again until the file grows, not counted as lag, and waits for its newline,
the way Vector's and Fluent Bit's file inputs wait for the delimiter. A held line that will not
complete is still delivered, as it stands, when

- it reaches :data:`MAX_LINE` bytes (cut there, and the rest of it dropped up to its newline, as
  ``logs scan`` does; Vector's ``max_line_bytes``, Fluent Bit's ``Buffer_Max_Size``);
- the file rotates (renamed away, or truncated by copytruncate): the writer has moved on;
- the writer leaves it unfinished for ``partial_after`` seconds (the OpenTelemetry filelog
  receiver's ``force_flush_period``); its rest, if it ever comes, is then a line of its own.

The path is hostile ground: whoever can write the log directory can replace the file with a
symlink. Unless ``follow_symlinks`` is set, a path whose real location leaves ``root`` (the
configured directory) is refused (:class:`SourceRefused`), checked on the opened descriptor so a
swap between the check and the open cannot slip through.

A binary line (NUL bytes, or mostly control characters: :func:`~prodshield.logs.sources.files.is_binary`,
the readers' own test) is counted in ``binary`` and delivered as
:data:`~prodshield.logs.sources.files.SKIPPED_LINE`, as ``logs parse`` and ``logs scan`` skip it:
the lines after it keep their numbers, and no NUL reaches a template, the store or a page.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, select

from prodshield.logs.sources.files import CONTROL_BYTES, SKIPPED_LINE, is_binary
from prodshield.store import Store
from prodshield.store import tables as t

FINGERPRINT_BYTES = 256
READ_CHUNK = 1 << 20
MAX_LINE = 1024 * 1024
PARTIAL_AFTER = 5.0
"""Seconds an unfinished last line may wait for its newline before it is delivered as is."""


@dataclass
class Position:
    inode: int | None
    device: int | None
    offset: int
    fingerprint: str | None
    lines: int
    """Lines of the file before ``offset`` (0 again when reading restarts at its start)."""


@dataclass
class _Held:
    """The unfinished last line seen at the end of the file (bytes from the read offset)."""

    offset: int
    data: bytes
    since: float
    """``time.monotonic()`` when it last grew."""


class SourceRefused(OSError):
    """The path resolves outside the configured directory (a symlink) and is not followed."""


def _fingerprint(fd: int) -> str | None:
    head = os.pread(fd, FINGERPRINT_BYTES, 0)
    if not head:
        return None
    return hashlib.blake2b(head, digest_size=16).hexdigest() + f":{len(head)}"


def _prefix_matches(fd: int, saved: str) -> bool:
    """Whether the file still starts with the bytes ``saved`` fingerprinted (same length compared:
    a file truncated and refilled past its old size has other first bytes)."""
    saved_hash, saved_len = saved.rsplit(":", 1)
    head = os.pread(fd, int(saved_len), 0)
    if len(head) < int(saved_len):
        return False
    return hashlib.blake2b(head, digest_size=16).hexdigest() == saved_hash


class FileFollower:
    """Reads new complete lines of one path; ``poll()`` returns them and saves the offset."""

    def __init__(
        self,
        store: Store,
        path: str,
        *,
        source: str | None = None,
        root: str | None = None,
        follow_symlinks: bool = True,
        partial_after: float | None = PARTIAL_AFTER,
    ) -> None:
        self.store = store
        self.partial_after = partial_after
        """Seconds a held unfinished line waits for its newline (``None``: until it rotates)."""
        self._held: _Held | None = None
        self._skipping = False
        """The rest of a line cut at :data:`MAX_LINE` is being dropped, up to its newline."""
        self.path = path
        self.source = source or os.path.abspath(path)
        self.root = os.path.realpath(root or os.path.dirname(os.path.abspath(path)))
        self.follow_symlinks = follow_symlinks
        self._fd: int | None = None
        self._stat: os.stat_result | None = None
        self.position = self._load()
        self.size = 0
        """The followed file's size at the last poll (``size - position.offset`` = bytes behind)."""
        self.first_line = 1
        """The number in its file of the first line the last :meth:`poll` returned (a finding
        names ``app.log:N`` with it; a poll that crosses a rotation numbers on from it)."""
        self.read_to_end = True
        """Whether the last :meth:`poll` read up to the end of the file as it was then (False:
        it stopped at ``max_bytes``, more was waiting already)."""
        self.binary = 0
        """Lines skipped as binary since this follower started (delivered as ``SKIPPED_LINE``)."""

    def _open(self, path: str) -> int:
        """Open ``path`` for reading, refusing a real location outside ``root``."""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        if self.follow_symlinks:
            return fd
        try:
            real = os.path.realpath(path)
            st_fd, st_real = os.fstat(fd), os.stat(real)
            inside = os.path.commonpath([real, self.root]) == self.root
            same = (st_fd.st_ino, st_fd.st_dev) == (st_real.st_ino, st_real.st_dev)
        except (OSError, ValueError):
            inside = same = False
        if not (inside and same):
            os.close(fd)
            raise SourceRefused(
                1,
                f"not followed: the path leads outside {self.root} (a symlink; set "
                "follow_symlinks: true on the source to allow it)",
                path,
            )
        return fd

    @property
    def bytes_behind(self) -> int:
        """Bytes written and not read yet, measured now (the reader may be busy for a while
        with what it read last): the open file's size, else the size at the last poll. A held
        unfinished last line is not behind (it waits for its writer) until the file grows."""
        size = self.size
        fd = self._fd
        if fd is not None:
            try:
                size = os.fstat(fd).st_size
            except OSError:
                pass
        behind = max(0, size - self.position.offset)
        held = self._held
        if held is not None and held.offset == self.position.offset and behind <= len(held.data):
            return 0
        return behind

    @property
    def drained(self) -> bool:
        """Every byte read and delivered: nothing behind, no unfinished line held."""
        return self._held is None and self.bytes_behind == 0

    # --- persistence -------------------------------------------------------------------------

    def _load(self) -> Position:
        with self.store.connect() as conn:
            row = conn.execute(
                select(t.log_offsets).where(t.log_offsets.c.source == self.source)
            ).first()
        if row is None:
            return Position(None, None, 0, None, 0)
        return Position(row.inode, row.device, int(row.offset), row.fingerprint, int(row.lines))

    def commit(self, conn: Connection | None = None) -> None:
        """Save the position reached by the last ``poll``; pass ``conn`` to make the caller's own
        writes and the offset one transaction (exactly-once across a crash)."""
        if conn is None:
            with self.store.begin() as own:
                self._save(own)
        else:
            self._save(conn)

    def _save(self, conn: Connection) -> None:
        p = self.position
        values = {
            "inode": p.inode,
            "device": p.device,
            "offset": p.offset,
            "fingerprint": p.fingerprint,
            "lines": p.lines,
            "updated_at": time.time(),
        }
        table = t.log_offsets
        updated = conn.execute(
            table.update().where(table.c.source == self.source).values(**values)
        ).rowcount
        if not updated:
            conn.execute(table.insert().values(source=self.source, **values))

    # --- reading -----------------------------------------------------------------------------

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._held = None
        self._skipping = False

    def _find_rotated(self) -> str | None:
        """The file the saved inode now lives at (``app.log.1`` after a rename), if any."""
        p = self.position
        folder = os.path.dirname(os.path.abspath(self.path))
        base = os.path.basename(self.path)
        try:
            names = os.listdir(folder)
        except OSError:
            return None
        for name in names:
            if name != base and name.startswith(base):
                candidate = os.path.join(folder, name)
                try:
                    st = os.stat(candidate)
                except OSError:
                    continue
                if st.st_ino == p.inode and st.st_dev == p.device:
                    return candidate
        return None

    def _open_current(self) -> bool:
        p = self.position
        if p.inode is not None:
            try:
                st_path = os.stat(self.path)
                moved = st_path.st_ino != p.inode or st_path.st_dev != p.device
            except FileNotFoundError:
                moved = True
            old = self._find_rotated() if moved else None
            if old is not None:
                # rotated while we were stopped: finish the old file first (poll switches after)
                fd = self._open(old)
                self._fd, self._stat = fd, os.fstat(fd)
                return True
        try:
            fd = self._open(self.path)
        except FileNotFoundError:
            return False
        st = os.fstat(fd)
        fp = _fingerprint(fd)
        same_file = p.inode == st.st_ino and p.device == st.st_dev
        if p.inode is not None and not same_file:
            p.offset = 0  # a new file at the path (rotated while we were away)
        elif p.fingerprint and not _prefix_matches(fd, p.fingerprint):
            p.offset = 0
        if st.st_size < p.offset:
            p.offset = 0  # truncated
        if not p.offset:
            p.lines = 0
        p.inode, p.device = st.st_ino, st.st_dev
        p.fingerprint = fp
        self._fd, self._stat = fd, st
        return True

    def poll(self, max_bytes: int = 8 * READ_CHUNK, *, commit: bool = True) -> list[str]:
        """New complete lines since the last call (decoded, line ends removed).

        With ``commit`` the new offset is saved before returning (at-most-once if the caller then
        crashes); without it the caller saves it with :meth:`commit` after handling the lines.
        """
        if self._fd is None and not self._open_current():
            return []
        assert self._fd is not None
        lines: list[str] = []
        self.first_line = self.position.lines + 1
        if self._truncated():
            # copytruncate: the held unfinished line was cut off by the rotation, deliver it
            lines.extend(self._release_held(advance=False))
            self.position.offset = 0
            self.position.lines = 0
            self._skipping = False
            self.position.fingerprint = _fingerprint(self._fd)
            if not lines:
                self.first_line = 1
        lines.extend(self._read_available(max_bytes))
        if self._renamed():
            # drain the old file through the open descriptor (its unfinished last line too: the
            # writer has moved to the new file), then switch to the new one
            lines.extend(self._read_available(1 << 62))
            lines.extend(self._release_held())
            self.close()
            self.position = Position(None, None, 0, None, 0)
            if self._open_current():
                lines.extend(self._read_available(max_bytes))
        if self._fd is not None:
            try:
                self.size = os.fstat(self._fd).st_size
            except OSError:
                self.size = self.position.offset
        if commit:
            self.commit()
        return lines

    def _renamed(self) -> bool:
        """Another file is at the path now (the one we read was moved away)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False  # moved away and not yet re-created: keep reading the old one
        return st.st_ino != self.position.inode or st.st_dev != self.position.device

    def _truncated(self) -> bool:
        """The file we read was truncated (copytruncate), possibly already refilled."""
        assert self._fd is not None
        p = self.position
        if not p.offset:
            return False
        if os.fstat(self._fd).st_size < p.offset:
            return True
        if p.fingerprint is None:
            return False
        return not _prefix_matches(self._fd, p.fingerprint)

    def _release_held(self, *, advance: bool = True) -> list[str]:
        """Deliver the held unfinished line as it stands (``advance``: move the offset past it;
        not after a truncation, which took its bytes out of the file already)."""
        held, self._held = self._held, None
        if held is None or held.offset != self.position.offset or not held.data:
            return []
        if advance:
            self.position.offset += len(held.data)
        self.position.lines += 1
        return [self._line(held.data)]

    def _read_available(self, max_bytes: int) -> list[str]:
        assert self._fd is not None
        p = self.position
        out: list[str] = []
        budget = max_bytes
        at_end = False
        while budget > 0:
            held = self._held
            if held is not None and held.offset == p.offset:
                # nothing new after the unfinished line: do not read it again
                try:
                    size = os.fstat(self._fd).st_size
                except OSError:
                    size = p.offset + len(held.data)
                if size <= p.offset + len(held.data):
                    if (
                        self.partial_after is not None
                        and time.monotonic() - held.since >= self.partial_after
                    ):
                        out.extend(self._release_held())
                    at_end = True
                    break
            want = min(READ_CHUNK, budget)
            chunk = os.pread(self._fd, want, p.offset)
            if not chunk:
                at_end = True
                break
            if self._skipping:
                dropped = self._drop_rest(chunk)
                budget -= dropped
                continue
            end = chunk.rfind(b"\n")
            if end < 0:
                if len(chunk) >= MAX_LINE:  # an endless line: cut it, its rest is dropped
                    out.append(self._line(chunk[:MAX_LINE]))
                    p.offset += len(chunk)
                    p.lines += 1
                    budget -= len(chunk)
                    self._held = None
                    self._skipping = True
                    continue
                if held is None or held.offset != p.offset or len(chunk) != len(held.data):
                    self._held = _Held(p.offset, chunk, time.monotonic())  # new or grown
                at_end = len(chunk) < want  # else the budget cut it: more may follow
                break
            self._held = None
            block = chunk[: end + 1]
            if len(block.translate(None, CONTROL_BYTES)) == len(block):  # no line is binary
                out += _decode_lines(block)
            else:
                out += [self._line(raw) for raw in block.split(b"\n")[:-1]]
            p.offset += len(block)
            p.lines += block.count(b"\n")
            budget -= len(block)
            if p.fingerprint is None or int(p.fingerprint.rsplit(":", 1)[1]) < FINGERPRINT_BYTES:
                p.fingerprint = _fingerprint(self._fd)
        self.read_to_end = at_end
        return out

    def _drop_rest(self, chunk: bytes) -> int:
        """Drop the rest of a cut line from ``chunk`` (read at the offset), up to and with its
        newline, so it is not delivered as a line of its own; the bytes dropped."""
        end = chunk.find(b"\n")
        dropped = len(chunk) if end < 0 else end + 1
        self._skipping = end < 0
        self.position.offset += dropped
        return dropped

    def follow(self, interval: float = 0.5, stop_after: float | None = None) -> Iterator[str]:
        """Yield lines as they arrive; ``stop_after`` seconds without new data ends the loop."""
        idle_since = time.monotonic()
        while True:
            lines = self.poll()
            if lines:
                idle_since = time.monotonic()
                yield from lines
            elif stop_after is not None and time.monotonic() - idle_since >= stop_after:
                return
            else:
                time.sleep(interval)

    def _line(self, raw: bytes) -> str:
        """One line as delivered: decoded, or ``SKIPPED_LINE`` (counted) when it is binary."""
        if is_binary(raw[:-1] if raw.endswith(b"\r") else raw):
            self.binary += 1
            return SKIPPED_LINE
        return _decode(raw)


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


def _decode_lines(block: bytes) -> list[str]:
    """``[_decode(raw) for raw in block.split(b"\\n")[:-1]]`` for a block that ends with a
    newline, decoded at once: a newline byte is never part of a UTF-8 sequence, so an invalid
    sequence is replaced as it is line by line (it ends where its line ends), and a line ends
    with ``"\\r"`` exactly when its bytes end with ``b"\\r"``."""
    lines = block.decode("utf-8", "replace").split("\n")
    del lines[-1]
    if b"\r" in block:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    return lines
