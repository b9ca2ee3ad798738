"""The follower's block path gives what the plain line-by-line path gives: the same findings
(kind, key, count, message, samples), the same template counts and examples, the same records,
and the same hostile-line handling (benchmarks/logs_follow.py measures the speed)."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.logs.api import _raw_records, mine, parse_lines, raw_columns
from prodshield.logs.detectors import DetectorSettings
from prodshield.logs.detectors.redaction import redact_line
from prodshield.logs.event import LogEvent
from prodshield.logs.findings import LogFinding
from prodshield.logs.gate import BlockGate
from prodshield.logs.record import Written
from prodshield.logs.scan import _Collector
from prodshield.logs.service import LogService
from prodshield.logs.sources.files import ReadStats
from prodshield.logs.templates import TemplateMiner
from prodshield.store import Store, open_store
from prodshield.store import tables as t
from support import secrets_tokens as tok
from support.logs import Fragile

RAW_SHAPES = [
    "sshd[{p}]: Failed password for invalid user {u} from 203.0.113.{a} port {p} ssh2",
    "sshd[{p}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 rhost=10.0.0.{a}",
    "sshd[{p}]: Accepted password for {u} from 10.0.{a}.{b} port {p} ssh2",
    "app: could not connect to server: Connection refused (port {p})",
    "kernel: Out of memory: Killed process {p} (java)",
    "worker {a} finished job {p} in {b}.{a}s",
    "deploy {u}: push with token={t} done",
    "GET /api/items/{p} took {a} ms",
    "Échec: authentication failure for {u} from 198.51.100.{a}",
    "   ",
    "",
    "Traceback (most recent call last):",
    '  File "app.py", line {p}, in handler',
    "Caused by: java.io.IOException: No space left on device",
    "\tat com.example.Writer.flush(Writer.java:{a})",
]

PYTHON_SHAPES = [
    "2026-12-04 10:{m:02d}:00,001 INFO app: worker {a} finished job {p}",
    "2026-12-04 11:{m:02d}:01,002 CRITICAL app: could not connect to server: Connection refused",
    "2026-12-04 10:{m:02d}:02,003 ERROR app: payment {p} failed for {u}",
    "2026-12-04 10:{m:02d}:03,004 INFO app: login failed for {u} from 203.0.113.{a}",
    "Traceback (most recent call last):",
    '  File "app.py", line {p}, in handler',
]

TOKENS = [tok.github_classic() for _ in range(3)]


def _lines(shapes: list[str], n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    users = ["root", "admin", "alice", "bob"]
    out = []
    for _ in range(n):
        out.append(
            rng.choice(shapes).format(
                u=rng.choice(users),
                a=rng.randrange(4),
                b=rng.randrange(256),
                p=rng.randrange(1, 65535),
                m=rng.randrange(60),
                t=rng.choice(TOKENS),
            )
        )
    return out


def _service(store: Store, tmp_path: Path, fmt: str, text: str) -> LogService:
    (tmp_path / "app.log").write_text(text, encoding="utf-8")
    config = (
        "storage: sqlite:///unused.db\n"
        f"logs:\n  sources:\n    - {{name: app, path: app.log, format: {fmt}}}\n"
    )
    path = tmp_path / "shield.yaml"
    path.write_text(config)
    loaded = parse_config(config, name=str(path), env={}, fs_path=path)
    service = LogService(loaded, store, window_s=3600, poll_s=0.05)
    service._miner = service._load_miner()
    service._resolve()
    return service


def _close(service: LogService) -> None:
    for f in service.followed.values():
        f.follower.close()


def _shown(findings: list[LogFinding]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            f.kind,
            f.fingerprint,
            f.count,
            f.message,
            tuple(f.samples),
            repr(sorted(f.source.items())),
            repr(sorted(f.details.items())),
        )
        for f in findings
    )


@pytest.mark.parametrize(("fmt", "shapes"), [("raw", RAW_SHAPES), ("python", PYTHON_SHAPES)])
def test_the_block_path_gives_the_line_by_line_findings_and_template_counts(
    store: Store, tmp_path: Path, fmt: str, shapes: list[str]
) -> None:
    lines = _lines(shapes, 3000)
    service = _service(store, tmp_path, fmt, "\n".join(lines) + "\n")
    try:
        service._poll_all()
        ours = service._collector.findings()
        counts = Counter[str]()
        for (tid, _), n in service._tpl_counts.items():
            counts[tid] += n
        info = {tid: (v[0], v[1]) for tid, v in service._tpl_info.items()}
    finally:
        _close(service)
    path = str(tmp_path / "app.log")
    # the plain path: an event per record, mined, each one seen by the detectors in turn
    events = list(mine(parse_lines(lines, path, fmt), TemplateMiner(), params=False))
    plain = _Collector(DetectorSettings(), templates=False)
    for event in events:
        plain.observe(event)
    assert _shown(ours) == _shown(plain.findings())
    assert {f.kind for f in ours} >= (
        {"auth_failure", "db_connection_failure", "secret_in_log"}
        if fmt == "raw"
        else {"db_connection_failure"}
    )
    assert counts == Counter(e.template_id for e in events)
    first: dict[str, LogEvent] = {}
    for event in events:
        first.setdefault(str(event.template_id), event)
    assert info == {
        tid: (e.template, redact_line(e.message.split("\n", 1)[0])[:2000])
        for tid, e in first.items()
    }


def test_a_raw_line_that_makes_a_detector_raise_is_skipped_and_its_neighbours_counted_once(
    store: Store, tmp_path: Path
) -> None:
    service = _service(
        store,
        tmp_path,
        "raw",
        "started worker 1\nPOISON\n  continued\n"
        "app: could not connect to server: Connection refused\n",
    )
    try:
        service._collector._specific.append(Fragile())
        service._poll_all()
        service._flush()
    finally:
        _close(service)
    assert service.skipped_lines == 1
    with store.connect() as conn:
        rows = [
            r._mapping
            for r in conn.execute(select(t.log_findings))
            if r.kind == "db_connection_failure"
        ]
        counted = sum(int(r._mapping["count"]) for r in conn.execute(select(t.log_template_counts)))
    assert len(rows) == 1 and rows[0]["count"] == 1, rows
    # the records around it, each once; the line under the poisoned one, fed again alone after
    # it, is a record of its own (as on the line-by-line path)
    assert counted == 3


@pytest.mark.parametrize(
    "shapes", [RAW_SHAPES, [s for s in RAW_SHAPES if s.strip() and s[0] not in " \tC"]]
)
def test_raw_columns_are_the_raw_records(shapes: list[str]) -> None:
    for seed in range(5):
        lines = _lines(shapes, 400, seed)
        stats, plain_stats = ReadStats(), ReadStats()
        starts, texts = raw_columns(lines, 7, stats)
        records = list(_raw_records(lines, 7, plain_stats))
        assert list(zip(starts, texts, strict=True)) == records
        assert stats.events == plain_stats.events


@pytest.mark.parametrize("continued", ["", " at x", "\tat x", "Caused by: boom"])
def test_raw_columns_see_one_continued_line_anywhere_in_a_block(continued: str) -> None:
    """One search of the block tells a plain block from one with a continued record: a single
    blank, indented or ``Caused by:`` line (after the first) makes the records those of
    :func:`_raw_records`."""
    plain = [f"line {i} of the block" for i in range(50)]
    for at in (1, 25, 48):
        lines = [*plain[:at], continued, *plain[at:]]
        starts, texts = raw_columns(lines, 3)
        assert list(zip(starts, texts, strict=True)) == list(_raw_records(lines, 3, ReadStats()))
        assert len(texts) < len(lines) or continued == ""


def test_the_gate_picks_the_same_texts_from_texts_as_from_events() -> None:
    collector = _Collector(DetectorSettings())
    gate = BlockGate([*collector._specific, *collector._fallback])
    texts = [t for t in _lines(RAW_SHAPES, 2000) if t]
    events = [LogEvent("s", i, None, None, text, {}, text) for i, text in enumerate(texts)]
    picked = gate.candidates(events)
    found = [gate.found(i) for i in range(len(texts))]
    assert picked is not None and 0 < len(picked) < len(texts)
    assert gate.candidates_texts(texts) == picked
    again = [gate.found(i) for i in range(len(texts))]
    assert [None if f is None else (set(f.message), set(f.raw)) for f in again] == [
        None if f is None else (set(f.message), set(f.raw)) for f in found
    ]
    ascii_only = [text for text in texts if text.isascii()]
    events = [LogEvent("s", i, None, None, text, {}, text) for i, text in enumerate(ascii_only)]
    assert gate.candidates_texts(ascii_only) == gate.candidates(events)


class _EveryFinding(Written):
    """The plain writer: every finding goes to ``store_findings`` at every window."""

    def changed(self, findings: list[LogFinding]) -> list[LogFinding]:
        return findings

    def stored(self, findings: list[LogFinding]) -> None:
        pass


def _windows(store: Store, folder: Path, plain: bool) -> list[tuple[Any, ...]]:
    folder.mkdir()
    first = _lines(RAW_SHAPES, 1500, seed=1)
    service = _service(store, folder, "raw", "\n".join(first) + "\n")
    if plain:
        service._written = _EveryFinding()
    try:
        service._poll_all()
        service._flush()
        time.sleep(0.05)
        mark = time.time()
        # a second window: some findings grow (the same IPs), some are new, most stay
        more = [
            *_lines(RAW_SHAPES[:2], 40, seed=2),
            "sshd[1]: Failed password for x from 192.0.2.9",
        ]
        with (folder / "app.log").open("a", encoding="utf-8") as out:
            out.write("\n".join(more) + "\n")
        service._poll_all()
        service._flush()
        service._flush()  # nothing new
    finally:
        _close(service)
    with store.connect() as conn:
        return sorted(
            tuple(
                repr(value).replace(str(folder), "<folder>")
                for value in (
                    r.kind,
                    r.fingerprint,
                    r._mapping["count"],
                    r.message,
                    r.samples,
                    r.source,
                    r.details,
                    r.updated_at >= mark,  # written again in the later windows
                )
            )
            for r in conn.execute(select(t.log_findings))
        )


def test_findings_that_did_not_change_are_left_out_and_the_rows_are_the_same(
    store: Store, tmp_path: Path
) -> None:
    plain_store = open_store(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        plain = _windows(plain_store, tmp_path / "a", plain=True)
    finally:
        plain_store.close()
    ours = _windows(store, tmp_path / "b", plain=False)
    assert ours == plain
    again = [row for row in ours if row[-1] == "True"]
    assert 0 < len(again) < len(ours)  # some rows grew, the others were left alone


def test_a_fingerprint_follows_its_source() -> None:
    finding = LogFinding("security", "auth_failure", "high", source={"ip": "192.0.2.1"})
    first = finding.fingerprint
    assert finding.fingerprint == first
    finding.source["ip"] = "192.0.2.2"
    fresh = LogFinding("security", "auth_failure", "high", source={"ip": "192.0.2.2"})
    assert finding.fingerprint == fresh.fingerprint != first
    finding.source["file"] = "a.log"  # the file is not part of it
    assert finding.fingerprint == fresh.fingerprint


RULE_LINES = [
    "kernel: app[{p}]: SEGFAULT AT 7f00 ip 0000 sp 0000 error 4",
    "Kernel PANIC - not syncing: Fatal exception",
    "write failed: No Space Left On Device",
    "psql: could not connect to server: Connection REFUSED",
    "Out of memory: Killed process {p} (java)",
    "FATAL: remaining connection slots are reserved",
    "sudo: pam_unix(sudo:auth): authentication failure; logname={u} uid=0",
    "sshd[{p}]: Failed password for invalid user {u} from 203.0.113.{a} port {p} ssh2",
    "sshd[{p}]: error: maximum authentication attempts exceeded for {u} from 10.0.0.{a}",
    "\u017fegfault at 0 ip 0 (long s: a caseless match only Unicode case folding finds)",
    "[FATAL] worker {a} stopped; fatal error: cannot continue",
    "nothing to see in job {p}",
]


def test_rules_skip_only_patterns_whose_literal_a_line_lacks() -> None:
    from prodshield.logs.detectors.rulepack import RulePackDetector

    lines = _lines(RULE_LINES + RAW_SHAPES, 3000, seed=9)
    lines += [line.swapcase() for line in lines[:500]]
    events = [LogEvent("s", i, None, None, line, {}, line) for i, line in enumerate(lines)]
    ours = RulePackDetector(DetectorSettings())
    plain = RulePackDetector(DetectorSettings())
    plain._needs = [[None] * len(needs) for needs in plain._needs]  # every pattern tried
    assert any(n for needs in ours._needs for n in needs)
    for event in events:
        assert ours.observe(event) == plain.observe(event), event.message
    found = ours.findings()
    assert {f.kind for f in found} >= {"crash", "disk_full", "out_of_memory", "auth_failure"}
    assert _shown(found) == _shown(plain.findings())


def test_a_plan_per_keyword_set_still_judges_each_line_on_its_own_text() -> None:
    """The rules a set of keywords wakes (and the detectors a set of literals wakes) are worked
    out once per set; the verdict stays each line's: two lines holding the same keywords, one a
    failed login and one not, give one finding, and the remembered sets stay bounded."""
    lines = [
        "sshd[7]: Failed password for root from 203.0.113.5 port 22 ssh2",
        "job 7 failed: retry in 5 s",
        "sshd[8]: Failed password for admin from 198.51.100.7 port 23 ssh2",
        "upload failed for user admin",
    ] * 3
    block = _Collector(DetectorSettings(), templates=False)

    def event_at(i: int) -> LogEvent:
        return LogEvent("s", i, None, None, lines[i], {}, lines[i])

    block.observe_texts(lines[:6], event_at)
    block.observe_texts(lines[6:], lambda i: event_at(i + 6))
    plain = _Collector(DetectorSettings(), templates=False)
    for i in range(len(lines)):
        plain.observe(event_at(i))
    assert _shown(block.findings()) == _shown(plain.findings())
    failures = sorted(
        (f.source.get("ip"), f.count) for f in block.findings() if f.kind == "auth_failure"
    )
    assert failures == [("198.51.100.7", 3), ("203.0.113.5", 3)]
    rules = block.rules
    assert rules is not None
    if rules._plans:  # hyperscan names the keywords: plans per set of them
        for n in range(5000):
            rules._remember_plan(frozenset({f"k{n}"}), ())
        assert len(rules._plans) <= 4096


def test_a_template_stored_again_after_its_row_is_gone_has_its_example_redacted(
    store: Store, tmp_path: Path
) -> None:
    """A template the service stored already keeps no redacted example between windows (its
    row's example is never updated); when its row is gone (retention) the next window inserts
    it again, with the example redacted as for a new template."""
    token = TOKENS[0]
    lines = [f"job {n} pushed with token={token} done" for n in (11, 12)]
    service = _service(store, tmp_path, "raw", "\n".join(lines) + "\n")
    try:
        service._poll_all()
        service._flush()
        with store.begin() as conn:
            first = {r.id: r.example for r in conn.execute(select(t.log_templates))}
            conn.execute(t.log_templates.delete())
        assert first and all(token not in e for e in first.values())
        with (tmp_path / "app.log").open("a") as out:
            out.write(f"job 13 pushed with token={token} done\n")
        service._poll_all()
        assert all(info[5] for info in service._tpl_info.values())  # stored: kept raw
        service._flush()
        with store.begin() as conn:
            again = {r.id: r.example for r in conn.execute(select(t.log_templates))}
    finally:
        _close(service)
    assert set(again) <= set(first) and again
    for example in again.values():
        assert token not in example
        assert example == redact_line(f"job 13 pushed with token={token} done")[:2000]


def test_a_failed_login_naming_its_user_after_a_window_counts_on_the_same_finding(
    store: Store, tmp_path: Path
) -> None:
    """A window's findings() leaves out a finding's empty users; a failure from the same IP that
    names its user in a later window counted on that finding (it raised KeyError: the service
    skipped every such line, and the finding stopped growing)."""
    bare = "sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 rhost=10.0.0.5"
    named = bare + "  user=root"
    service = _service(store, tmp_path, "raw", bare + "\n")
    try:
        service._poll_all()
        service._flush()
        with (tmp_path / "app.log").open("a") as out:
            out.write(named + "\n" + named + "\n")
        service._poll_all()
        service._flush()
        skipped = service.skipped_lines
        with store.begin() as conn:
            rows = [
                (r._mapping["count"], r.details.get("users"))
                for r in conn.execute(select(t.log_findings))
                if r.kind == "auth_failure"
            ]
    finally:
        _close(service)
    assert skipped == 0
    assert rows == [(3, {"root": 2})]


@pytest.mark.parametrize(("written", "again"), [(40, False), (2_000, True)])
def test_a_small_backlog_waits_for_the_next_poll_and_a_big_one_is_read_at_once(
    store: Store, tmp_path: Path, written: int, again: bool
) -> None:
    """Lines written while a block is handled: a few (under ``COALESCE_BYTES``) are read at
    the next poll with what comes meanwhile (a block of a few lines costs several times more
    per line), a backlog of thousands at once; either way the follower counts as caught up from
    when the poll began (it read all that was there), so the lag it reports is not inflated."""
    from prodshield.logs.service import COALESCE_BYTES

    lines = _lines(RAW_SHAPES, 500)
    service = _service(store, tmp_path, "raw", "\n".join(lines) + "\n")
    log = tmp_path / "app.log"
    feed = service._feed_guarded

    def writer_meanwhile(f: Any, block: list[str], first_line: int = 1) -> None:
        with log.open("a", encoding="utf-8") as out:  # a writer appends while the block is handled
            out.write("\n".join(_lines(RAW_SHAPES, written, seed=9)) + "\n")
        service._feed_guarded = feed  # type: ignore[method-assign]
        feed(f, block, first_line)

    service._feed_guarded = writer_meanwhile  # type: ignore[method-assign,assignment]
    started = time.time()
    behind = service._poll_all()
    (followed,) = service.followed.values()
    assert (followed.follower.bytes_behind >= COALESCE_BYTES) is again
    assert behind is again
    assert followed.caught_up_at >= started
    assert service._poll_all() is False  # the backlog in one block
    assert followed.follower.bytes_behind == 0
    _close(service)


def test_a_poll_stopped_by_its_byte_budget_has_not_read_to_the_end(
    store: Store, tmp_path: Path
) -> None:
    from prodshield.logs.sources.follow import FileFollower

    log = tmp_path / "app.log"
    log.write_text("".join(f"line {i}\n" for i in range(1000)))
    follower = FileFollower(store, str(log))
    assert len(follower.poll(max_bytes=100)) == 13  # 94 bytes of whole lines
    assert follower.read_to_end is False
    assert len(follower.poll()) == 987
    assert follower.read_to_end is True
    follower.close()


def _rule_windows(store: Store, folder: Path, every_time: bool) -> list[Any]:
    """Six windows of sshd failures from many addresses (past ``detector_keys``: folded),
    secrets, PAM lines, tracebacks and hostile text; per window the rule pack's findings as the
    service hands them over, and at the end the stored rows."""
    folder.mkdir()
    rng = random.Random(23)
    hostile = [
        "\u202egnp.exe from 203.0.113.9",
        "\x1b[31mFailed password for root from ::1",
        "x" * 5000,
    ]
    lines = [
        *_lines(RAW_SHAPES, 3000, seed=3),
        *(
            f"sshd[{rng.randrange(99)}]: Failed password for root from 198.51.{i // 200}.{i % 200}"
            for i in range(400)
        ),
        *hostile,
        *(f"kernel: Out of memory: Killed process {p} ({TOKENS[0]})" for p in range(9)),
        *(f"deploy: shipped with {TOKENS[p % 2]}" for p in range(9)),
    ]
    rng.shuffle(lines)
    (folder / "app.log").write_text("")
    config = (
        "storage: sqlite:///unused.db\n"
        "logs:\n  detector_keys: 100\n  sources:\n    - {name: app, path: app.log, format: raw}\n"
        # a message that names what the line held: sealing redacts it (a token here)
        "  rules:\n    - {kind: shipped, pattern: 'shipped with (?P<detail>\\S+)', severity: low,"
        " message: 'shipped with {detail}'}\n"
    )
    path = folder / "shield.yaml"
    path.write_text(config)
    service = LogService(parse_config(config, name=str(path), env={}, fs_path=path), store)
    service._miner = service._load_miner()
    service._resolve()
    rules = service._collector.rules
    assert rules is not None
    if every_time:  # the reference: every finding worked out again at every window
        incremental = rules.findings

        def recomputed() -> list[LogFinding]:
            rules._shown.clear()
            return incremental()

        rules.findings = recomputed  # type: ignore[method-assign]
    seen: list[Any] = []
    try:
        for block in range(6):
            with (folder / "app.log").open("a", encoding="utf-8") as out:
                out.write("\n".join(lines[block * 570 : (block + 1) * 570]) + "\n")
            service._poll_all()
            seen.append(_shown(rules.findings()))
            service._flush()
            service._flush()  # nothing new: the sealed findings handed back unsealed again
    finally:
        _close(service)
    with store.connect() as conn:
        rows = sorted(
            repr(
                (
                    r.kind,
                    r.fingerprint,
                    r._mapping["count"],
                    r.message,
                    r.samples,
                    r.source,
                    r.details,
                )
            )
            for r in conn.execute(select(t.log_findings))
        )
    return [repr(w).replace(str(folder), "<folder>") for w in seen] + [
        row.replace(str(folder), "<folder>") for row in rows
    ]


def test_the_rule_pack_hands_back_unchanged_findings_as_a_full_pass_makes_them(
    store: Store, tmp_path: Path
) -> None:
    """A window works out again only the rule pack's findings a line touched or the store
    sealed since: the findings, their messages and the stored rows are those of working out
    every finding at every window (folded findings, thresholds, secrets and hostile text)."""
    reference_store = open_store(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        reference = _rule_windows(reference_store, tmp_path / "a", every_time=True)
    finally:
        reference_store.close()
    ours = _rule_windows(store, tmp_path / "b", every_time=False)
    assert ours == reference
    assert any("others" in row for row in ours)  # past detector_keys: folded
