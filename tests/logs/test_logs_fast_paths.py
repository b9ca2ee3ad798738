"""The per-event path's shortcuts give what the plain code gives: the service's ``mine`` without
parameters, the remembered redaction of sealed findings, and the secret scanner's choice of the
rules a line wakes up (benchmarks/logs_follow.py measures the speed)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from prodshield.logs import findings as findings_mod
from prodshield.logs.api import mine, parse_lines
from prodshield.logs.findings import LogFinding, sealed_text
from prodshield.logs.templates import TemplateMiner
from prodshield.secrets import redaction
from prodshield.secrets.engine import Scanner
from prodshield.secrets.redaction import redact_text
from support import secrets_tokens as tok


def _lines(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    shapes = [
        "Accepted password for {u} from 10.0.{a}.{b} port {p} ssh2",
        "Failed password for invalid user {u} from 203.0.113.{a} port {p} ssh2",
        "GET /api/items/{p} took {a} ms token={t}",
        "worker {a} finished job {p} in {b}.{a}s",
        "Connection from 192.168.{a}.{b} closed by peer",
    ]
    users = ["root", "admin", "alice", "bob", "deploy"]
    out = []
    for _ in range(n):
        out.append(
            rng.choice(shapes).format(
                u=rng.choice(users),
                a=rng.randrange(256),
                b=rng.randrange(256),
                p=rng.randrange(1, 65535),
                t=tok.rand(24),
            )
        )
    return out


def test_mine_without_params_gives_the_same_templates_and_ids() -> None:
    lines = _lines(3000)
    full = list(mine(parse_lines(lines, "s", "raw"), TemplateMiner()))
    lean = list(mine(parse_lines(lines, "s", "raw"), TemplateMiner(), params=False))
    assert [(e.template_id, e.template) for e in lean] == [
        (e.template_id, e.template) for e in full
    ]
    assert all(e.params == [] for e in lean)
    assert any(e.params for e in full)  # the full path does extract them


def test_sealed_text_is_redact_text_and_forgets_when_the_rules_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = tok.github_classic()
    line = f"deploy failed: push with {secret} refused"
    assert sealed_text(line) == redact_text(line)
    assert secret not in sealed_text(line)
    calls: list[str] = []

    def counting(text: str) -> str:
        calls.append(text)
        return redact_text(text)

    monkeypatch.setattr(findings_mod, "redact_text", counting)
    other = f"again {secret} at {tok.rand(8)}"
    sealed_text(other)
    sealed_text(other)
    assert calls == [other]  # the second time from memory
    # a config with other secret rules: redacted afresh
    monkeypatch.setattr(redaction, "_custom_scanner", Scanner(), raising=False)
    sealed_text(other)
    assert calls == [other, other]


def test_sealing_twice_gives_what_sealing_once_gives() -> None:
    secret = tok.stripe_live()
    f = LogFinding(
        "security",
        "x",
        "high",
        source={"file": "a.log", "ip": "203.0.113.9"},
        samples=[f"key {secret} used", "plain"],
        details={"users": {f"u-{secret}": 1}},
        message=f"leaked {secret}",
    )
    once = LogFinding(**{k: getattr(f, k) for k in f.__dataclass_fields__}).seal()
    twice = f.seal().seal()
    assert twice.to_dict() == once.to_dict()
    assert secret not in str(twice.to_dict())


def test_sources_sealed_together_are_the_sources_sealed_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``seal_sources`` (a window's new findings: every brute-forcer's IP a new text) redacts the
    texts of the sources in one block pass, and gives what ``seal_source`` gives one by one."""
    from prodshield.logs.findings import seal_sources

    secret = tok.github_classic()

    def made() -> list[LogFinding]:
        return [
            LogFinding("security", "auth_failure", "medium", source={"file": "a.log", "ip": ip})
            for ip in [f"198.51.100.{i}" for i in range(40)]
            + [f"token {secret}", "x" * 3000 + secret, f"ünïcode {secret}"]
        ] + [LogFinding("security", "x", "high", source={"n": 3, "d": {"k": f"v {secret}"}})]

    one_by_one = [f.seal_source().source for f in made()]
    findings_mod._SEALED.clear()
    calls: list[str] = []

    def counting(text: str) -> str:
        calls.append(text)
        return redact_text(text)

    monkeypatch.setattr(findings_mod, "redact_text", counting)
    together = made()
    seal_sources(together)
    assert [f.source for f in together] == one_by_one
    assert secret not in str(one_by_one)
    assert not any(c.startswith("198.51.100.") for c in calls)  # from the block pass


def test_scan_line_wakes_the_rules_of_the_literals_it_holds() -> None:
    scanner = Scanner()
    makers = [
        tok.github_classic,
        tok.aws_id,
        tok.slack_bot,
        tok.stripe_live,
        tok.sendgrid,
        tok.openai,
        tok.jwt,
        tok.google_key,
        tok.npm_token,
    ]
    lines = [f"user=bob password={tok.rand(14)} sid={tok.rand(10)}", "sms sent to bot @x"]
    lines += [f"token {make()} in request" for make in makers]
    lines += [f"Authorization: Bearer {tok.rand(40)}", "nothing to see here"]
    # not ASCII: the literals are looked for in the lower-cased text, as before
    lines += [f"Übertragung: password={tok.rand(14)}", "\u212aEY=abc", f"ключ token={tok.rand(30)}"]
    lines += _lines(300)
    for line in lines:
        low = line.lower()
        # the reference: every rule one of whose literals occurs in the line, in rule order
        reference = [i for i, rule in scanner._rules if any(kw in low for kw in rule.keywords)]
        want = scanner.scan_line(line, lower=low, rule_indexes=reference)
        if not scanner.prefilter.contains_any(line):
            want = []
        assert scanner.scan_line(line) == want, line
    assert any(scanner.scan_line(f"token {make()} in request") for make in makers)


def test_rule_pack_gate_gives_the_alternation_s_answer() -> None:
    from prodshield.logs.detectors import DetectorSettings
    from prodshield.logs.detectors.rulepack import RulePackDetector
    from prodshield.logs.event import LogEvent

    fast, slow = RulePackDetector(DetectorSettings()), RulePackDetector(DetectorSettings())
    slow._ascii_gate = None  # every line through the keyword alternation
    assert fast._ascii_gate is not None
    lines = [
        *_lines(500),
        "sshd[1]: Failed password for root from 203.0.113.5 port 22 ssh2",
        "sshd[1]: FAILED password for root from 203.0.113.6 port 22 ssh2",
        "kernel: Out of memory: Killed process 12 (java)",
        "psql: could not connect to server: Connection refused",
        "Ärger: could not connect to server: Connection refused",
        "sudo: pam_unix(sudo:auth): authentication failure; user=bob",
    ]
    for n, line in enumerate(lines, 1):
        event = LogEvent("a.log", n, None, None, line, {}, line)
        assert fast.observe(event) == slow.observe(event), line
    got = sorted((f.kind, f.count, str(f.source)) for f in fast.findings())
    assert got == sorted((f.kind, f.count, str(f.source)) for f in slow.findings())
    assert {"auth_failure", "out_of_memory", "db_connection_failure"} <= {k for k, _, _ in got}


def test_access_log_fast_path_finds_a_token_in_a_query_string(tmp_path: Path) -> None:
    """``logs scan`` of a plain access log takes the columnar path (polars); a token in a query
    string is found there as the line pipeline finds it: same finding, same place."""
    pytest.importorskip("polars")
    from prodshield.logs.scan import scan_files

    token = tok.github_classic()
    lines = [
        f'10.0.0.{i % 5} - - [06/Dec/2026:04:00:{i:02d} +0000] "GET /api/items/{i}?page=2 '
        f'HTTP/1.1" 200 512 "https://shop.example/cart" "Mozilla/5.0"'
        for i in range(30)
    ]
    lines.insert(
        17,
        f'10.0.0.9 - - [06/Dec/2026:04:00:40 +0000] "GET /callback?access_token={token}&x=1 '
        f'HTTP/1.1" 200 12 "-" "curl/8.0"',
    )
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    fast = scan_files([path])
    assert fast.stats.get("engine") == "polars"
    plain = scan_files([path], fast=False)
    assert "engine" not in plain.stats

    def secrets(result: object) -> list[dict[str, object]]:
        return [f.to_dict() for f in result.findings if f.kind == "secret_in_log"]  # type: ignore[attr-defined]

    found = secrets(fast)
    assert found and found == secrets(plain)
    assert found[0]["details"]["secrets"][0]["places"] == [f"{path}:18"]  # type: ignore[index]
    assert token not in str(found)


def test_block_gate_and_redaction_narrow_the_url_literal_as_the_scanner_does() -> None:
    """A plain URL (every referrer) wakes neither the secret detector's gate nor the redaction's
    rules when hyperscan narrows ``://`` to ``user:pass@``; a URL with a password still does."""
    pytest.importorskip("hyperscan")
    from prodshield.logs.detectors import DetectorSettings
    from prodshield.logs.detectors.secrets import SecretInLogDetector
    from prodshield.logs.gate import BlockGate
    from prodshield.secrets.redaction import redact_many

    texts = [
        "fetched https://shop.example/cart?x=1 in 12 ms",
        "connecting to postgres://app:Wq8zR2mVt5xKp0L@db.internal:5432/shop",
        "mail admin@example.com via smtp://relay.example:25",
        "redis://:Zr7pW2qLm9xT4kV@cache:6379/0 ready",
    ]
    events = list(parse_lines(texts, "app.log", "raw"))
    detector = SecretInLogDetector(DetectorSettings())
    gate = BlockGate([detector])
    assert gate.narrowed.get("://") == detector.scanner.prefilter_patterns["://"]
    assert gate.candidates(events) == [1, 3]
    assert redact_many(texts) == [redact_text(t) for t in texts]
    assert "Wq8zR2mVt5xKp0L" not in redact_many(texts)[1]
    assert "Zr7pW2qLm9xT4kV" not in redact_many(texts)[3]


def test_detectors_told_the_gate_s_literals_find_what_a_line_by_line_pass_finds() -> None:
    """The block gate names the literals each line holds and the secret and rule-pack detectors
    run only the rules those wake: the findings are the ones of every line shown to every
    detector, for raw lines (secrets, DSNs, sshd failures) and for access logs (every line
    picked by its fields, a token in one query string)."""
    pytest.importorskip("hyperscan")
    from prodshield.logs.detectors import DetectorSettings
    from prodshield.logs.scan import _Collector

    rng = random.Random(11)
    raw = _lines(3000)
    for _ in range(40):
        i = rng.randrange(len(raw))
        raw[i] += f" token {tok.github_classic()} via postgres://app:{tok.rand(14)}@db/shop"
    raw += [
        "ERROR could not connect to server: Connection refused",
        "FATAL:  remaining connection slots are reserved for non-replication superuser",
        "Failed password for invalid user admin from 198.51.100.7 port 2201 ssh2",
        "fetched https://shop.example/cart in 3 ms",
    ]
    access = [
        f'198.51.100.{i % 9} - - [06/Dec/2026:04:00:{i % 60:02d} +0000] "GET /api/items/{i} '
        f'HTTP/1.1" {(200, 401, 500)[i % 3]} 12 "https://shop.example/" "curl/8.0"'
        for i in range(600)
    ]
    access[300] = access[300].replace("/api/items/300", f"/cb?access_token={tok.github_classic()}")
    for events in (
        list(parse_lines(raw, "app.log", "raw")),
        list(parse_lines(access, "access.log", "nginx")),
    ):
        told = _Collector(DetectorSettings(), templates=False)
        for start in range(0, len(events), 500):
            told.observe_many(events[start : start + 500])
        each = _Collector(DetectorSettings(), templates=False)
        for event in events:
            each._detect(event)
        got = sorted(repr(f.seal().to_dict()) for f in told.findings(sealed=False))
        want = sorted(repr(f.seal().to_dict()) for f in each.findings(sealed=False))
        assert got == want
        assert any("secret_in_log" in f for f in got)


def _mixed_lines(n: int, seed: int = 5) -> list[str]:
    """Lines whose tokens keep digits (``ssh2``, ``u0``), need masking one by one (MAC
    addresses) or repeat a shape twice on one line."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        mac = ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
        out.append(
            rng.choice(
                [
                    f"sshd[{rng.randrange(99999)}]: session opened for u{rng.randrange(3)} ssh2",
                    f"link {mac} up on eth{rng.randrange(4)} after {rng.randrange(900)} ms",
                    f"id={rng.randrange(10**6)} id={rng.randrange(10**6)} ok={rng.random():.3f}",
                    f"job-{rng.randrange(40)}.{rng.choice('abc')} took {rng.randrange(99)}.5s",
                ]
            )
        )
    return out


@pytest.mark.parametrize("cache_size", [3, 7, 100_000])
def test_batch_group_masking_is_the_line_order_loop_even_when_a_cache_is_cleared(
    cache_size: int,
) -> None:
    from prodshield.logs.shapes import ShapeCaches, line_shape

    fast, plain = ShapeCaches(cache_size), ShapeCaches(cache_size)
    for message in _mixed_lines(400):
        shape = line_shape(message)
        got = fast._group_mask(message, shape)
        want = plain._group_mask_slow(message.split(), shape.split())
        assert got == want, message
        assert fast.token_shapes == plain.token_shapes
        assert fast.digit_tokens == plain.digit_tokens


def test_cached_renderings_are_the_renderings_of_the_cluster_as_it_is() -> None:
    miner = TemplateMiner()
    lines = _mixed_lines(3000) + _lines(3000)
    for start in range(0, len(lines), 700):
        for entry in miner.learn_many(lines[start : start + 700]):
            done = miner.final(entry)
            text, plan, diffs = miner._render_slow(done.cluster, done.masked)
            assert (done.template, done.plan) == (text, plan)
            assert done.diffs == diffs


def test_the_piece_memo_keeps_short_pieces_only() -> None:
    from prodshield.logs import masking

    long_piece = "x" * 500 + "7q"
    assert masking.mask_token(f"key={long_piece}") == f"key={long_piece}"
    assert long_piece not in masking._VARIABLE
    assert masking.mask_token("key=abc123") == "key=<*>"
    assert masking._VARIABLE["abc123"] is True


def test_enum_similarity_counts_what_the_position_by_position_loop_counts() -> None:
    from prodshield.logs.clusters import enum_similarity, enum_similarity_loop
    from prodshield.logs.templates import MinerConfig

    miner = TemplateMiner(MinerConfig(enum_max=2, similarity=0.5))
    lines = _mixed_lines(2000) + _lines(2000)
    for start in range(0, len(lines), 600):
        miner.learn_many(lines[start : start + 600])
    rng = random.Random(11)
    checked = 0
    for cluster in miner._clusters:
        for _ in range(20):
            masked = tuple(
                rng.choice([token, "<*>", "x", *(cluster.values.get(pos) or ())])
                for pos, token in enumerate(cluster.tokens)
            )
            for threshold in (0.0, 0.5, 0.6):
                fast = enum_similarity(cluster, masked, threshold)
                assert fast == enum_similarity_loop(cluster, masked, threshold)
            checked += 1
    assert checked > 100
