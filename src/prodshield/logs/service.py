"""The log capability's service, as ``prodshield serve`` runs it: follow the configured sources,
mine templates, run the detectors, and store what it learns.

Every window (``logs.window``, 30 s) one transaction stores:

- findings: one row per finding (kind and key) while it goes on: a finding seen again updates its
  row's count, last-seen, samples and message instead of adding a row. The detectors keep their
  state for an hour (a brute force or a 5xx burst that spans windows is still one burst); a
  finding not updated for :data:`CONTINUES_S` starts a new row;
- templates: ``log_templates`` (count, first and last seen) and ``log_template_counts`` (hourly
  counts per template id), read by the dashboard and ``/api/v1/templates``;
- source findings: a source silent beyond its usual gap, or past its volume budget;
- critical notifications (once per finding and hour) and the followed files' offsets, so a crash
  before the commit reads the lines again and a crash after never does.

The follower's lag (bytes and seconds behind per source) is on ``/metrics``; past ``logs.max_lag``
or ``logs.max_lag_bytes`` ``/readyz`` is degraded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select

from prodshield.config.types import write_duration
from prodshield.logs.detectors import DetectorSettings
from prodshield.logs.findings import LogFinding
from prodshield.logs.record import (
    Row,
    Written,
    _chunks,
    attribute,
    retire_absorbed,
    store_findings,
)
from prodshield.logs.scan import _Collector
from prodshield.logs.sources.configured import ConfiguredFile, configured_files, source_pattern
from prodshield.logs.sources.follow import FileFollower
from prodshield.logs.sources.watch import SourceWatch
from prodshield.secrets.redaction import redact_text
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.store.bulk import execute_many
from prodshield.text import clip, code_span, fence, reclip

log = logging.getLogger("prodshield.serve")

EPOCH_S = 3600.0
"""How long the detectors keep their state before they start afresh (bounded memory)."""
MINER_SAVE_S = 60.0
RESOLVE_S = 30.0
"""How often globs and directories are looked at again for new files."""
COALESCE_BYTES = 64 * 1024
"""A backlog this big (about 500 lines) is read at once after a block; a smaller one waits for
the next poll with what comes meanwhile: blocks of a few lines cost several times more per line
(the miner learns fewer than 512 lines one by one) and the lag stays within the poll interval."""
KV_NAMESPACE = "logs"


@dataclass
class _Followed:
    file: ConfiguredFile
    follower: FileFollower
    layout: Any = None
    caught_up_at: float = field(default_factory=time.time)
    head: list[str] | None = None
    """With ``format: auto``: the first lines, until 50 decide the format for good."""


class LogService:
    """Follows log sources; every window the detectors' findings go to the store."""

    name = "logs"

    def __init__(
        self, loaded: Any, store: Store, *, window_s: float = 30.0, poll_s: float = 1.0
    ) -> None:
        self.loaded = loaded
        self.store = store
        self.window_s = window_s
        self.poll_s = poll_s
        self.notified: dict[str, float] = {}
        self.source_errors: dict[str, str] = {}  # path -> what went wrong (cleared on recovery)
        self.raw_sources: set[str] = set()  # files auto-detection reads as raw (said once)
        self._seen: set[str] = set()  # files that existed once (gone now: deleted, not missing)
        self.settings = DetectorSettings.from_config(
            loaded.config.logs, secret_rules=loaded.config.audit.secrets.rules
        )
        self.followed: dict[str, _Followed] = {}
        self.watches: dict[str, SourceWatch] = {}
        self.started_at = time.time()
        self._rows: dict[str, Row] = {}
        self._retired: set[str] = set()
        """Fingerprints of failed-login rows deleted this epoch (a brute force took them)."""
        self._written = Written()
        """The findings stored at the last window (only those that changed are stored again)."""
        self._tpl_counts: Counter[tuple[str, int]] = Counter()
        self._tpl_info: dict[str, list[Any]] = {}
        """id -> [template, example, source, first, last, whether the example is still raw]"""
        self._stored_templates: set[str] = set()
        """Template ids this service stored (their rows need no example: it is not updated)."""
        self._count_rows: set[tuple[str, int]] = set()
        """(template id, hour) pairs whose ``log_template_counts`` row this service wrote."""
        self._epoch_start = time.time()
        self._collector = _Collector(self.settings, templates=False)
        self._miner: Any = None
        self._miner_saved = 0.0
        self._miner_saved_lines: int | None = None
        """The miner's line count at its last save (None: not saved by this service yet)."""
        self._pending: Any = None
        self.skipped_lines = 0
        self.files_let_go = 0
        """Files matched by a glob or folder, gone since, no longer followed (``_let_go``)."""
        self._done = 0
        self._first_line = 1

    def reload(self, loaded: Any) -> None:
        """A new config (SIGHUP): taken at the next window (rules, thresholds, sources)."""
        self._pending = loaded

    def _apply_reload(self) -> None:
        loaded, self._pending = self._pending, None
        if loaded is None:
            return
        self.loaded = loaded
        self.settings = DetectorSettings.from_config(
            loaded.config.logs, secret_rules=loaded.config.audit.secrets.rules
        )
        self._new_epoch(time.time())  # what is inside its window goes on (docs/logs.md)
        wanted = {
            f.path for f in configured_files(loaded.config.logs, loaded.base_dir, follow_only=True)
        }
        for path in [p for p in self.followed if p not in wanted]:
            self.followed.pop(path).follower.close()
            self.source_errors.pop(path, None)
        for f in self.followed.values():  # a source's new layout or format
            f.follower.partial_after = loaded.config.logs.partial_line_after
            f.file = next(
                (
                    c
                    for c in configured_files(loaded.config.logs, loaded.base_dir)
                    if c.path == f.file.path
                ),
                f.file,
            )
            try:
                f.layout = f.file.layout
            except ValueError:
                pass
            f.head = None
        sources = {src.name: src for src in loaded.config.logs.sources}
        self.watches = {n: w for n, w in self.watches.items() if n in sources}
        for name, watch in self.watches.items():
            watch.source = sources[name]  # new silent_after / budgets
        for f in self.followed.values():
            self.watches.setdefault(f.file.source.name, SourceWatch(f.file.source, time.time()))
        self._resolve()
        log.warning("logs: new configuration in effect (%d rules)", len(loaded.config.logs.rules))

    # --- what serve shows ----------------------------------------------------------------------

    def problems(self) -> dict[str, str]:
        out = {f"logs:{path}": message for path, message in list(self.source_errors.items())}
        cfg = self.loaded.config.logs
        for path, lag in self.lag().items():
            if lag["seconds"] >= cfg.max_lag or lag["bytes"] >= cfg.max_lag_bytes:
                out[f"logs:lag:{path}"] = (
                    f"the follower is {lag['bytes']} bytes and {lag['seconds']:.0f} s behind "
                    f"(limits: {cfg.max_lag:.0f} s, {cfg.max_lag_bytes} bytes)"
                )
        return out

    def notes(self) -> dict[str, str]:
        """/readyz's notes (not degraded): the followed files auto-detection reads as raw."""
        from prodshield.logs.api import RAW_FALLBACK

        return {
            f"logs:{path}": RAW_FALLBACK
            for path in sorted(self.raw_sources)
            if path in self.followed
        }

    def lag(self) -> dict[str, dict[str, float]]:
        """Per followed file: bytes and seconds behind."""
        now = time.time()
        out = {}
        for path, f in list(self.followed.items()):
            behind = f.follower.bytes_behind
            out[path] = {
                "bytes": behind,
                "seconds": 0.0 if behind == 0 else max(0.0, now - f.caught_up_at),
            }
        return out

    def gauges(self) -> list[tuple[str, str, list[str], list[tuple[list[str], float]]]]:
        """The follower's lag for ``/metrics`` (name, help, label names, samples)."""
        lag = self.lag()
        return [
            (
                "prodshield_log_follower_bytes_behind",
                "Bytes written to a followed log file and not read yet.",
                ["path"],
                [([p], float(v["bytes"])) for p, v in sorted(lag.items())],
            ),
            (
                "prodshield_log_follower_seconds_behind",
                "Seconds since the follower last caught up with the file (0 when caught up).",
                ["path"],
                [([p], v["seconds"]) for p, v in sorted(lag.items())],
            ),
            (
                "prodshield_log_follower_binary_lines",
                "Lines of a followed file skipped as binary (NUL bytes or mostly control "
                "characters) since serve started, as logs parse and logs scan skip them.",
                ["path"],
                [([p], float(f.follower.binary)) for p, f in sorted(self.followed.items())],
            ),
        ]

    # --- the loop ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self._loop_sync, stop)

    def _resolve(self) -> None:
        """(Re)read the configured sources: new files matching a glob are followed too, and a
        matched file that is gone (deleted, its lines read) is let go."""
        cfg = self.loaded.config.logs
        matched = configured_files(cfg, self.loaded.base_dir, follow_only=True)
        self._let_go({sf.path for sf in matched})
        for sf in matched:
            if sf.path in self.followed:
                continue
            pattern = source_pattern(sf.source, self.loaded.base_dir)
            root = pattern if os.path.isdir(pattern) else os.path.dirname(pattern)
            while any(c in root for c in "*?["):
                root = os.path.dirname(root)
            try:
                layout = sf.layout
            except ValueError as exc:  # a bad layout string (config check reports it too)
                self.source_errors[sf.path] = str(exc)
                continue
            follower = FileFollower(
                self.store,
                sf.path,
                source=sf.path,
                root=root,
                follow_symlinks=sf.source.follow_symlinks,
                partial_after=cfg.partial_line_after,
            )
            self.followed[sf.path] = _Followed(sf, follower, layout)
            self.watches.setdefault(sf.source.name, SourceWatch(sf.source, time.time()))

    def _let_go(self, matched: set[str]) -> None:
        """Stop following files a glob or folder matched once and that are gone now, read to
        their end: their descriptors, lag series on ``/metrics`` and offset rows. A log rotated
        to ever-new names (``app-2026-12-07.log``) made them pile up for as long as serve ran.
        A path named in shield.yaml is always matched: it is waited for, never let go."""
        gone = [
            path
            for path, f in self.followed.items()
            if path not in matched and not os.path.lexists(path) and f.follower.drained
        ]
        if not gone:
            return
        for path in gone:
            self.followed.pop(path).follower.close()
            self.source_errors.pop(path, None)
            self._seen.discard(path)
        self.files_let_go += len(gone)
        try:
            with self.store.begin() as conn:
                for chunk in _chunks(gone):
                    conn.execute(t.log_offsets.delete().where(t.log_offsets.c.source.in_(chunk)))
        except Exception as exc:  # the store refuses writes: the rows go at the next chance
            log.warning("logs: offsets of files gone not removed: %s", exc)

    def _load_miner(self) -> Any:
        from prodshield.logs.state import load_miner

        try:
            return load_miner(self.store)
        except Exception as exc:  # a state from another version: start afresh, say so
            log.warning("logs: template miner state not loaded (%s); starting afresh", exc)
            from prodshield.logs.templates import TemplateMiner

            return TemplateMiner()

    def _loop_sync(self, stop: asyncio.Event) -> None:
        if self._miner is None:  # a restart after a failure keeps what it learnt since the save
            self._miner = self._load_miner()
        self._resolve()
        window_end = time.monotonic() + self.window_s
        resolve_at = time.monotonic() + RESOLVE_S
        first_round = True
        try:
            while not stop.is_set():
                behind = self._poll_all()
                if first_round:
                    first_round = False
                    self._baseline_marker()
                if time.monotonic() >= window_end:
                    self._flush_guarded()
                    window_end = time.monotonic() + self.window_s
                    if self._pending is not None and "store" not in self.source_errors:
                        # (after a window stored: the rows carried on are the stored ones)
                        self._apply_reload()
                if time.monotonic() >= resolve_at:
                    self._resolve()
                    resolve_at = time.monotonic() + RESOLVE_S
                if not behind:
                    time.sleep(min(self.poll_s, max(0.0, window_end - time.monotonic())))
        finally:
            self._flush_guarded()
            for f in self.followed.values():
                f.follower.close()

    def _poll_all(self) -> bool:
        """Read every followed file once; True when one of them still has more to read."""
        behind = False
        now = time.time()
        for path, f in list(self.followed.items()):
            try:
                before = f.follower.position.offset
                binary = f.follower.binary
                lines = f.follower.poll(commit=False)
                if f.follower.binary > binary and not binary:  # once per file, as it happens
                    log.warning(
                        "log source %s: a binary line skipped (NUL bytes or mostly control "
                        "characters); prodshield_log_follower_binary_lines counts them",
                        path,
                    )
            except OSError as exc:  # deleted, unreadable or refused: keep going, report it
                message = exc.strerror or str(exc)
                if self.source_errors.get(path) != message:
                    log.warning("log source %s: %s", path, message)
                self.source_errors[path] = message
                continue
            if not os.path.lexists(path):
                message = (
                    "deleted while followed (waiting for it to come back)"
                    if path in self._seen
                    else "not found (waiting for it to appear)"
                )
                if self.source_errors.get(path) != message:
                    log.warning("log source %s: %s", path, message)
                self.source_errors[path] = message
            else:
                if self.source_errors.pop(path, None) is not None:
                    again = "readable again" if path in self._seen else "appeared"
                    log.warning("log source %s: %s", path, again)
                self._seen.add(path)
            if f.follower.read_to_end:  # all that was written when the poll began is read
                f.caught_up_at = now
            if not f.follower.read_to_end or f.follower.bytes_behind >= COALESCE_BYTES:
                behind = True
            if lines:
                nbytes = max(0, f.follower.position.offset - before) or sum(map(len, lines))
                self.watches[f.file.source.name].arrived(len(lines), nbytes, now)
                self._feed_guarded(f, lines, f.follower.first_line)
                # a backlog written while the block was handled is read at once, not a poll later
                behind = behind or f.follower.bytes_behind >= COALESCE_BYTES
        return behind

    def _feed_guarded(self, f: _Followed, lines: list[str], first_line: int = 1) -> None:
        """Feed a batch whose first line is line ``first_line`` of its file; a line that makes the
        parser, the miner or a detector raise is counted and skipped (one line each time in the
        log), never a crash loop on the same lines."""
        self._done = 0
        self._first_line = first_line
        try:
            self._feed(f, lines)
            return
        except Exception:
            pass
        # the lines after the last event handled, again one by one (none is counted twice)
        for i, line in enumerate(lines[self._done :], self._done):
            self._first_line = first_line + i
            try:
                self._feed(f, [line])
            except Exception as exc:
                self.skipped_lines += 1
                log.warning(
                    "logs: a line of %s skipped (%s: %s); %d so far",
                    f.file.path,
                    type(exc).__name__,
                    str(exc)[:200],
                    self.skipped_lines,
                )

    def _feed(self, f: _Followed, lines: list[str]) -> None:
        """One block: parse it, mine it at once, count its templates, and let the detectors see
        the events the block gate picks (one literal scan over the block); ``_done`` is the last
        line handled whole if something raises."""
        from prodshield.logs.api import is_plain_raw, resolve_format

        if f.layout is None or isinstance(f.layout, str):
            name = f.layout or "auto"
            if name != "auto":
                f.layout = resolve_format(name, [])
            else:
                f.head = lines[:50]
                f.layout = resolve_format("auto", f.head)
        elif f.head is not None:
            # a format detected from a few lines is detected again until 50 were seen
            f.head += lines[: 50 - len(f.head)]
            f.layout = resolve_format("auto", f.head)
        if f.head is not None and len(f.head) >= 50:
            f.head = None
            if f.layout.type == "raw":
                self._say_raw(f.file.path)
        if is_plain_raw(f.layout):
            self._feed_raw(f, lines)
        else:
            self._feed_events(f, lines)

    def _say_raw(self, path: str) -> None:
        """Once per file: auto-detection read it as raw, so its times and levels are not read."""
        from prodshield.logs.api import raw_fallback_note

        if path not in self.raw_sources:
            self.raw_sources.add(path)
            log.warning("log source %s", raw_fallback_note(path, cli=False))

    def _feed_events(self, f: _Followed, lines: list[str]) -> None:
        """:meth:`_feed` for a format with fields: an event per record."""
        from prodshield.logs.api import _first_line, parse_lines

        events = list(parse_lines(lines, f.file.path, f.layout, first_line=self._first_line))
        firsts = [_first_line(event.message) for event in events]
        times = [e.timestamp.timestamp() if e.timestamp is not None else None for e in events]
        ids, named = self._learn(firsts, times)
        for event, key in zip(events, ids, strict=True):
            event.template_id, event.template = named[key]
        collector = self._collector
        collector.done = 0
        try:
            collector.observe_many(events)
        finally:
            n = collector.done
            if n:
                last = events[n - 1]
                self._done = last.line + last.raw.count("\n") - self._first_line + 1
                now = time.time()
                hours: list[int] | None = None
                if any(e.timestamp is not None for e in events[:n]):
                    hours = []
                    for event in events[:n]:
                        ts = event.timestamp.timestamp() if event.timestamp is not None else now
                        if ts > now + 3600:  # a clock far ahead: count it now
                            ts = now
                        hours.append(int(ts // 3600) * 3600)
                self._count_templates(f, ids, named, firsts, n, now, hours)

    def _feed_raw(self, f: _Followed, lines: list[str]) -> None:
        """:meth:`_feed` for the ``raw`` format: records as columns (first line, text), learnt
        and counted per template, and an event built only for the records the detectors' gate
        picks."""
        from prodshield.logs.api import raw_columns
        from prodshield.logs.event import LogEvent

        starts, texts = raw_columns(lines, self._first_line)
        # a text is its own first line unless a record ran over several lines
        firsts = texts if texts is lines else [text.partition("\n")[0] for text in texts]
        ids, named = self._learn(firsts, None)
        source = f.file.path

        def event_at(i: int) -> LogEvent:
            text = texts[i]
            event = LogEvent(source, starts[i], None, None, text, {}, text)
            event.template_id, event.template = named[ids[i]]
            return event

        collector = self._collector
        collector.done = 0
        try:
            collector.observe_texts(texts, event_at)
        finally:
            n = collector.done
            if n:
                self._done = starts[n - 1] + texts[n - 1].count("\n") - self._first_line + 1
                self._count_templates(f, ids, named, firsts, n, time.time(), None)

    def _learn(
        self, firsts: list[str], times: list[float | None] | None
    ) -> tuple[list[int], dict[int, tuple[str, str]]]:
        """Learn a block at once (the batch path ``logs templates`` uses): per record the key of
        its entry, and per key the (template id, template) its cluster has once the block is
        learnt (in the order the block first shows them)."""
        if not firsts:
            return [], {}
        miner = self._miner
        if times is not None and all(t is None for t in times):
            times = None
        learnt = miner.learn_many(firsts, times)
        ids = list(map(id, learnt))
        final = miner.final
        named: dict[int, tuple[str, str]] = {}
        for key, entry in dict(zip(ids, learnt, strict=True)).items():
            done = final(entry)
            named[key] = (done.template_id, done.template)
        return ids, named

    def _count_templates(
        self,
        f: _Followed,
        ids: list[int],
        named: dict[int, tuple[str, str]],
        firsts: list[str],
        n: int,
        now: float,
        hours: list[int] | None,
    ) -> None:
        """Hourly counts per template id of the block's first ``n`` records (``hours``: each
        one's hour; None: all of them now), and each template's text, example (its first record
        in the block) and last sighting: a step per template, not per record."""
        handled = ids if n >= len(ids) else ids[:n]
        counts = self._tpl_counts
        if hours is None:
            hour = int(now // 3600) * 3600
            for key, c in Counter(handled).items():
                tid = named[key][0]
                if tid is not None:
                    counts[(tid, hour)] += c
        else:
            for (key, at), c in Counter(zip(handled, hours, strict=True)).items():
                tid = named[key][0]
                if tid is not None:
                    counts[(tid, at)] += c
        # each template id's first record in the block (keys of one id: the earliest)
        first_of_key = dict(zip(reversed(handled), range(len(handled) - 1, -1, -1), strict=True))
        first_of: dict[str, int] = {}
        for key, i in first_of_key.items():
            tid = named[key][0]
            if tid is not None and (tid not in first_of or i < first_of[tid]):
                first_of[tid] = i
        infos = self._tpl_info
        stored = self._stored_templates
        for tid, i in sorted(first_of.items(), key=lambda item: item[1]):
            template = named[ids[i]][1]
            info = infos.get(tid)
            if info is None:
                from prodshield.logs.detectors.redaction import redact_line

                # the example is stored with a new template only: one this service stored
                # already keeps its line unredacted until a window finds its row gone
                later = tid in stored
                infos[tid] = [
                    template or "",
                    firsts[i] if later else clip(redact_line(firsts[i]), 2000),
                    f.file.source.name,
                    now,
                    now,
                    later,
                ]
            else:
                info[0] = template or info[0]
                info[4] = now

    def _baseline_marker(self) -> None:
        """The first catch-up read done: templates first seen after this are "new" (when no deploy
        marker is set). Kept across restarts: the baseline is the first start."""
        try:
            if self.store.kv_get(KV_NAMESPACE, "baseline") is None:
                self.store.kv_set(KV_NAMESPACE, "baseline", {"at": time.time()})
        except Exception as exc:
            log.warning("logs: baseline marker not stored: %s", exc)

    def _flush_guarded(self) -> None:
        try:
            self._flush()
        except Exception as exc:  # the store refuses writes (disk full, database down)
            message = f"cannot store findings and offsets: {type(exc).__name__}"
            if self.source_errors.get("store") != message:
                log.warning("logs: %s: %s", message, str(exc).splitlines()[0][:200])
            self.source_errors["store"] = message
            # the window's counts stay: the next flush stores them with the offsets
        else:
            if self.source_errors.pop("store", None) is not None:
                log.warning("logs: findings are stored again")

    # --- storing -------------------------------------------------------------------------------

    def _flush(self) -> None:
        """Findings, templates, notifications and offsets in one transaction."""
        now = time.time()
        # sealed below, only those that changed since the last window (most did not)
        absorbed: list[LogFinding] = []
        findings = self._collector.findings(sealed=False, absorbed=absorbed)
        for watch in self.watches.values():
            findings += watch.findings(now)
        todo = self._written.changed(findings)  # what store_findings would not skip
        todo, absorbed = _emptied(absorbed, findings, todo, self._retired)
        rows = dict(self._rows)
        attribute(todo, [f.file for f in self.followed.values()])
        with self.store.begin() as conn:
            changed = store_findings(conn, todo, rows, now)
            # lines stored before a burst took them: its row counts them now
            retire_absorbed(conn, absorbed, rows, now, self._retired)
            self._store_templates(conn)
            self._notify(conn, changed, now)
            for f in self.followed.values():
                f.follower.commit(conn)
        self._rows = rows
        self._written.stored(findings)
        self._tpl_counts.clear()
        self._tpl_info.clear()
        if now - self._epoch_start >= EPOCH_S:
            self._new_epoch(now)
        if self._miner is not None and now - self._miner_saved >= MINER_SAVE_S:
            self._save_miner(now)

    def _new_epoch(self, now: float) -> None:
        """The detectors start afresh (bounded memory), but for what is still inside its window
        (``_Collector.carry_over``): the findings carried go on with their rows (their count
        before them kept as the base); the others' rows go on from their stored count."""
        old, self._collector = self._collector, _Collector(self.settings, templates=False)
        carried = self._collector.carry_over(old)
        self._rows = _carried_rows(self._rows, carried)
        self._epoch_start = now
        self._retired = set()
        self._written.forget()

    def _save_miner(self, now: float) -> None:
        """Save the miner's state unless it learnt no line since the last save (an idle
        service does not serialise the same state again every minute)."""
        lines = getattr(self._miner, "lines", None)
        if lines is not None and lines == self._miner_saved_lines:
            self._miner_saved = now
            return
        try:
            self.store.kv_set("logs", "miner", self._miner.state())
            self._miner_saved = now
            self._miner_saved_lines = lines
        except Exception as exc:
            log.warning("logs: template miner state not saved: %s", exc)

    def _store_templates(self, conn: Any) -> None:
        """Add the window's counts: templates and hourly counts (a few statements for all).

        The rows this service wrote are updated without being looked for first: the driver's
        count of the rows an update changed tells when some went missing meanwhile (retention,
        a transaction that failed), and only then are they looked for and inserted again. Rows
        it did not write (before a restart, or another writer's) are looked for first."""
        from prodshield.logs.findings import sealed_text

        counts = self._tpl_counts
        totals: Counter[str] = Counter()
        for (tid, _), n in counts.items():
            totals[tid] += n
        written = self._count_rows
        unknown = [pair for pair in counts if pair not in written]
        present = _present_pairs(conn, unknown)
        updates = [pair for pair in counts if pair in written or pair in present]
        inserts = [pair for pair in unknown if pair not in present]
        if updates:
            done = execute_many(
                conn,
                _ADD_COUNT,
                [{"b_id": tid, "b_hour": hour, "v_n": counts[tid, hour]} for tid, hour in updates],
            )
            if done != len(updates):  # rows gone since this service wrote them
                mine = [pair for pair in updates if pair in written]
                found = _present_pairs(conn, mine)
                inserts += [pair for pair in mine if pair not in found]
        if inserts:
            execute_many(
                conn,
                _INSERT_COUNT,
                [
                    {"template_id": tid, "hour": hour, "count": counts[tid, hour]}
                    for tid, hour in inserts
                ],
            )
        if len(written) > 200_000:  # bounded: forgetting costs a look-up each
            written.clear()
        written.update(counts)

        infos = self._tpl_info
        stored = self._stored_templates
        fresh = [tid for tid in infos if tid not in stored]
        known = _present_templates(conn, fresh)
        ids = [tid for tid in infos if tid in stored or tid in known]
        new = [tid for tid in fresh if tid not in known]
        # outside text: redacted and bounded like every finding (``LogFinding.seal``)
        texts = {tid: sealed_text(clip(infos[tid][0], 2000)) for tid in infos}
        if ids:
            done = execute_many(
                conn,
                _ADD_TEMPLATE,
                [
                    {
                        "b_id": tid,
                        "v_n": totals[tid],
                        "v_template": texts[tid],
                        "v_last": infos[tid][4],
                    }
                    for tid in ids
                ],
            )
            if done != len(ids):  # rows gone since (retention)
                ours = [tid for tid in ids if tid in stored]
                there = _present_templates(conn, ours)
                new += [tid for tid in ours if tid not in there]
        inserts_t = []
        for tid in new:
            _, sample, source, first, last, raw = infos[tid]
            if raw:  # a row gone since (retention): the example as a new template has it
                from prodshield.logs.detectors.redaction import redact_line

                sample = clip(redact_line(sample), 2000)
            inserts_t.append(
                {
                    "id": tid,
                    "template": texts[tid],
                    "count": totals[tid],
                    "first_seen": first,
                    "last_seen": last,
                    "example": redact_text(reclip(sample, 2000)),
                    "source": source,
                }
            )
        if inserts_t:
            execute_many(conn, _INSERT_TEMPLATE, inserts_t)
        if len(stored) > 200_000:  # bounded: forgetting costs a redaction each
            stored.clear()
        stored.update(infos)

    def _notify(self, conn: Any, findings: list[LogFinding], now: float) -> None:
        """Critical findings notify once per finding per hour, at most 20 per window."""
        notifiers = self.loaded.config.logs.alerts
        if notifiers is None:
            notifiers = list(self.loaded.config.notifiers)
        if not notifiers:
            return
        from prodshield.notify.outbox import enqueue_in

        hour = int(now // 3600)
        for key in [k for k, at in self.notified.items() if at < now - 7200]:
            del self.notified[key]
        sent = 0
        for f in findings:
            if not (
                f.severity == "critical" or (f.category == "critical" and f.severity == "high")
            ):
                continue
            key = f"log:{f.kind}:{f.fingerprint}:{hour}"
            if key in self.notified or sent >= 20:
                continue
            self.notified[key] = now
            sent += 1
            where = ", ".join(f"{k}={v}" for k, v in f.source.items() if v)
            from prodshield.logs.detectors.redaction import redact_line

            message = reclip(redact_line(f.message or f.kind), 200)
            enqueue_in(
                conn,
                notifiers,
                {
                    "key": key,
                    "type": "log.critical",
                    "subject": f"log:{f.kind}:{f.fingerprint}",
                    "title": f"{f.kind}: {message}"[:120],
                    "severity": "critical" if f.severity == "critical" else "high",
                    # Message, samples and sources are log text: never read as Markdown.
                    "body": f"**{f.kind}** x{f.count} ({code_span(where)})\n\n"
                    f"{code_span(message)}\n\n" + fence("\n".join(f.samples)),
                    "fields": {"kind": f.kind, "count": str(f.count), "source": where},
                    "url": None,
                    "labels": ["logs"],
                },
                now,
            )


_ADD_COUNT = (
    t.log_template_counts.update()
    .where(
        t.log_template_counts.c.template_id == bindparam("b_id"),
        t.log_template_counts.c.hour == bindparam("b_hour"),
    )
    .values(count=t.log_template_counts.c["count"] + bindparam("v_n"))
)
_INSERT_COUNT = t.log_template_counts.insert()
_ADD_TEMPLATE = (
    t.log_templates.update()
    .where(t.log_templates.c.id == bindparam("b_id"))
    .values(
        count=t.log_templates.c["count"] + bindparam("v_n"),
        template=bindparam("v_template"),
        last_seen=bindparam("v_last"),
    )
)
_INSERT_TEMPLATE = t.log_templates.insert()


def _emptied(
    absorbed: list[LogFinding],
    findings: list[LogFinding],
    todo: list[LogFinding],
    done: set[str],
) -> tuple[list[LogFinding], list[LogFinding]]:
    """The findings to store and those whose stored rows to take back (``retire_absorbed``),
    given the findings a burst took (``absorbed``: the failed logins a brute force took, again
    every window, unless taken back this epoch already (``done``), and the ``error_logged``
    findings a rule's burst took every line from; docs/logs.md, Rules). A row another file's
    finding shares (one row per fingerprint, the file left out of it) is written again from the
    findings that go on instead: the other file's lines stay counted."""
    fresh = [
        f
        for f in absorbed
        if f.category == "performance" or f.kind == "error_logged" or f.fingerprint not in done
    ]
    if not fresh:
        return todo, []
    from prodshield.logs.findings import seal_sources

    kinds = {f.kind for f in fresh}
    live = [f for f in findings if f.kind in kinds]
    seal_sources(fresh + live)  # the fingerprint is the one of the stored (sealed) source
    shared = {f.fingerprint for f in live} & {f.fingerprint for f in fresh}
    if not shared:
        return todo, fresh
    known = {id(f) for f in todo}
    todo = todo + [f for f in live if f.fingerprint in shared and id(f) not in known]
    # a failed login's row written again is done with: the brute force keeps its lines
    done.update(
        f.fingerprint for f in fresh if f.fingerprint in shared and f.kind != "error_logged"
    )
    return todo, [f for f in fresh if f.fingerprint not in shared]


def _carried_rows(rows: dict[str, Row], carried: list[LogFinding]) -> dict[str, Row]:
    """The rows of the findings a new epoch carries on, their base the stored count less what
    those findings count (the findings of the same row that are not carried stay in the base)."""
    if not carried:
        return {}
    from prodshield.logs.findings import seal_sources

    seal_sources(carried)  # the fingerprint is the one of the stored (sealed) source
    counts: Counter[str] = Counter()
    for f in carried:
        counts[f.fingerprint] += f.count
    out = {}
    for fp, n in counts.items():
        row = rows.get(fp)
        if row is None or not row.written:
            continue  # never stored (or taken back): found again by its fingerprint
        stored = row.base + int(row.written[0])
        out[fp] = Row(row.id, stored - n, row.written, row.details, row.created)
    return out


def _present_pairs(conn: Any, pairs: list[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of the (template id, hour) pairs have a row in ``log_template_counts``."""
    if not pairs:
        return set()
    lc = t.log_template_counts
    wanted = set(pairs)
    hours = sorted({hour for _, hour in pairs})
    found: set[tuple[str, int]] = set()
    for chunk in _chunks(sorted({tid for tid, _ in pairs})):
        found |= {
            (r[0], int(r[1]))
            for r in conn.execute(
                select(lc.c.template_id, lc.c.hour).where(
                    lc.c.template_id.in_(chunk), lc.c.hour.in_(hours)
                )
            )
        }
    return found & wanted


def _present_templates(conn: Any, ids: list[str]) -> set[str]:
    """Which of the template ids have a row in ``log_templates``."""
    lt = t.log_templates
    found: set[str] = set()
    for chunk in _chunks(ids):
        found |= {r[0] for r in conn.execute(select(lt.c.id).where(lt.c.id.in_(chunk)))}
    return found


def daily_digest(loaded: Any, store: Store) -> dict[str, Any] | None:
    """Build the daily digest over the configured sources (last 24 h) and keep it in the store
    (``kv`` logs/digest) for the dashboard; returns what was stored."""
    from pathlib import Path

    from prodshield.logs.digest import build_digest, render_markdown
    from prodshield.logs.scan import scan_files

    cfg = loaded.config.logs
    files = [f for f in configured_files(cfg, loaded.base_dir) if os.path.isfile(f.path)]
    if not files:
        return None
    layouts = {}
    for sf in files:
        try:
            if not isinstance(sf.layout, str):
                layouts[sf.path] = sf.layout
        except ValueError:
            continue
    result = scan_files(
        [Path(sf.path) for sf in files],
        since="24h",
        baseline=write_duration(cfg.baseline),  # trends compare with the period before
        settings=DetectorSettings.from_config(cfg, secret_rules=loaded.config.audit.secrets.rules),
        layouts=layouts or None,
    )
    digest = build_digest(result, title="Daily log digest")
    data = digest.to_dict()
    stored = {
        "generated_at": data["generated_at"],
        "summary": data["summary"],
        "markdown": render_markdown(digest),
    }
    store.kv_set(KV_NAMESPACE, "digest", stored)
    return stored
