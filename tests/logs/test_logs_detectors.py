"""Detectors on data no one here wrote (Loghub-2k samples) and on realistic generated logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from prodshield.logs.api import parse_lines
from prodshield.logs.detectors import REGISTRY, DetectorSettings
from prodshield.logs.detectors.trends import poisson_sf
from prodshield.logs.findings import LogFinding, ScanResult
from prodshield.logs.pipeline import iter_events
from prodshield.logs.scan import scan_events

_CANDIDATES = [
    Path(__file__).resolve().parents[3]
    / "shared"
    / "datasets"
    / "loghub-2k",  # shared/ beside the clone
    Path("/work/shared/datasets/loghub-2k"),
]
LOGHUB = next((c for c in _CANDIDATES if c.exists()), _CANDIDATES[0])


def loghub(system: str) -> Path:
    path = LOGHUB / system / f"{system}_2k.log"
    if not path.exists():
        pytest.fail(f"the Loghub-2k dataset is missing at {path}")
    return path


def by_kind(result: ScanResult, kind: str) -> list[LogFinding]:
    return [f for f in result.findings if f.kind == kind]


def test_openssh_brute_force_and_invalid_users() -> None:
    result = scan_events(iter_events([loghub("OpenSSH")]))
    brute = {f.source["ip"]: f for f in by_kind(result, "brute_force")}
    # the heaviest offenders of the sample, with their attempt counts: one per attempt, however
    # many lines its sshd session wrote (sshd's "Failed password", PAM's, "Invalid user"...)
    assert set(brute) >= {
        "183.62.140.253",
        "187.141.143.180",
        "103.99.0.122",
        "112.95.230.3",
        "5.188.10.180",
        "185.190.58.151",
    }
    assert brute["183.62.140.253"].count == 287
    assert brute["183.62.140.253"].details["users"]["root"] >= 270
    assert brute["183.62.140.253"].severity == "high"
    assert brute["103.99.0.122"].count == 46  # its 46 "Failed password" lines
    # the brute force took its failed logins' findings (one line, one finding)
    assert brute["103.99.0.122"].details["absorbed"] == {"invalid_user": 35, "auth_failure": 11}
    invalid = by_kind(result, "invalid_user")
    assert not any(f.source.get("ip") in brute for f in invalid)
    assert all(f.source.get("ip") for f in invalid)  # every attempt has its session's address
    absorbed = sum(f.details["absorbed"].get("invalid_user", 0) for f in brute.values())
    assert sum(f.count for f in invalid) + absorbed >= 130
    # a normal sshd "fatal: Write failed" is not a crash
    assert not by_kind(result, "crash")


def test_apache_error_log_errors() -> None:
    result = scan_events(iter_events([loghub("Apache")]))
    assert result.stats["events"] == 2000
    errors = by_kind(result, "error_logged")
    assert sum(f.count for f in errors) == 595  # every [error] line of the sample, grouped
    by_template = {f.source["template"]: f.count for f in errors}
    assert max(by_template.values()) >= 100
    assert any("error state" in t for t in by_template)
    forbidden = [f for f in errors if "Directory index forbidden" in f.source["template"]]
    assert forbidden and len(forbidden[0].details["clients"]) >= 5


def test_linux_auth_failures() -> None:
    result = scan_events(iter_events([loghub("Linux")]))
    # PAM logging alone (no sshd line): each session's failure is one attempt
    auth = by_kind(result, "auth_failure") + by_kind(result, "invalid_user")
    brute = {f.source["ip"]: f for f in by_kind(result, "brute_force")}
    assert "218.188.2.4" in brute and "218.188.2.4" not in {f.source.get("ip") for f in auth}
    absorbed = sum(sum(f.details["absorbed"].values()) for f in brute.values())
    assert sum(f.count for f in auth) + absorbed >= 300


def test_poisson_tail() -> None:
    assert poisson_sf(0, 3.0) == 1.0
    assert abs(poisson_sf(1, 2.0) - (1 - 2.718281828**-2)) < 1e-6
    assert poisson_sf(30, 3.0) < 1e-10


NGINX = '{ip} - - [24/Nov/2026:10:{m:02d}:{s:02d} +0000] "{method} {path} HTTP/1.1" {status} 512 "-" "{ua}" {rt} {rt}\n'


def write_nginx(path: Path) -> None:
    lines = []
    for i in range(300):
        lines.append(
            NGINX.format(
                ip=f"10.0.0.{i % 50}",
                m=i // 60,
                s=i % 60,
                method="GET",
                path=f"/api/items/{i}",
                status=200,
                ua="Mozilla/5.0",
                rt="0.020",
            )
        )
    for i in range(30):  # a burst of failed logins from one client
        lines.append(
            NGINX.format(
                ip="203.0.113.9",
                m=6,
                s=i,
                method="POST",
                path="/login",
                status=401,
                ua="python-requests/2.31",
                rt="0.010",
            )
        )
    for i in range(40):  # an endpoint failing a third of the time, one slow request
        lines.append(
            NGINX.format(
                ip="10.0.1.1",
                m=7,
                s=i,
                method="GET",
                path="/api/pay",
                status=503 if i % 3 == 0 else 200,
                ua="Mozilla/5.0",
                rt="2.500" if i == 5 else "0.050",
            )
        )
    lines.append(
        NGINX.format(
            ip="198.51.100.66",
            m=8,
            s=1,
            method="GET",
            path="/.git/config",
            status=404,
            ua="Mozilla/5.00 (Nikto/2.5.0)",
            rt="0.001",
        )
    )
    path.write_text("".join(lines))


@pytest.mark.parametrize("fast", [False, True])
def test_access_log_findings_same_on_both_engines(tmp_path: Path, fast: bool) -> None:
    from prodshield.cli.logs_intel import run_scan

    log = tmp_path / "access.log"
    write_nginx(log)
    result = run_scan([log], "auto", None, None, DetectorSettings(), fast=fast)
    found = {(f.kind, f.source.get("ip") or f.source.get("endpoint")) for f in result.findings}
    assert ("brute_force", "203.0.113.9") in found
    assert ("http_5xx_burst", "GET /api/pay") in found
    assert ("slow_request", "GET /api/pay") in found
    assert ("scanner_probe", "198.51.100.66") in found
    assert ("suspicious_user_agent", "198.51.100.66") in found
    items = next(e for e in result.endpoints if e["endpoint"] == "GET /api/items/:id")
    assert items["requests"] == 300 and items["p95_ms"] == 20.0


def test_cli_scan_json_exit_codes_and_redaction(tmp_path: Path) -> None:
    app = tmp_path / "app.log"
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    app.write_text(
        "2026-11-24 10:00:00,001 INFO app: started\n"
        "2026-11-24 10:00:01,002 ERROR app: could not connect to server: Connection refused\n"
        f"2026-11-24 10:00:02,003 INFO app: calling api with Authorization: Bearer {token}\n"
        "2026-11-24 10:00:03,004 ERROR app: Out of memory: Killed process 4242 (report-worker)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "logs", "scan", str(app), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr  # critical findings
    data = json.loads(proc.stdout)
    kinds = {f["kind"] for f in data["findings"]}
    assert {"db_connection_failure", "out_of_memory"} <= kinds
    assert token not in proc.stdout
    ok = tmp_path / "ok.log"
    ok.write_text("2026-11-24 10:00:00,001 INFO app: all good\n")
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "logs", "scan", str(ok)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "logs", "scan", str(tmp_path / "nope.log")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_scan_and_digest_say_when_a_glob_matches_no_file(tmp_path: Path) -> None:
    """A glob matching nothing exited 0 with an empty report, as if the logs were clean."""
    (tmp_path / "x1.log").write_text("")  # not matched by x[2].log
    for command in ("scan", "digest"):
        proc = subprocess.run(
            [sys.executable, "-m", "prodshield", "logs", command, "x[2].log"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert "x[2].log: no file matches" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_digest_html_is_self_contained(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    write_nginx(log)
    out = tmp_path / "digest.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "prodshield",
            "logs",
            "digest",
            str(log),
            "--format",
            "html",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert "<svg" in page and "203.0.113.9" in page
    assert "src=" not in page and "<script" not in page.replace("&lt;script", "")
    md = subprocess.run(
        [sys.executable, "-m", "prodshield", "logs", "digest", str(log)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        md.stdout.index("## Alerts")
        < md.stdout.index("## Security")
        < md.stdout.index("## Performance")
    )


def test_digest_top_offenders_include_an_access_log_brute_forcer(tmp_path: Path) -> None:
    """30 failed logins (401) in an access log give only a brute_force finding; the digest's top
    offending IPs must still list that IP with its attempts."""
    from prodshield.logs.digest import build_digest, render_markdown
    from prodshield.logs.scan import scan_files

    log = tmp_path / "access.log"
    lines = [
        f'198.51.100.23 - - [04/Dec/2026:20:{i // 60:02d}:{i % 60:02d} +0000] "POST /login '
        f'HTTP/1.1" 401 12 "-" "Mozilla/5.0" 0.010\n'
        for i in range(30)
    ]
    lines += [
        f'203.0.113.66 - - [04/Dec/2026:20:05:{i:02d} +0000] "GET /.env HTTP/1.1" 404 0 "-" '
        f'"Mozilla/5.0" 0.001\n'
        for i in range(9)
    ]
    log.write_text("".join(lines))
    for fast in (False, True):
        digest = build_digest(scan_files([log], settings=DetectorSettings(), fast=fast))
        ips, _ = digest.offenders()
        assert ("198.51.100.23", 30) in ips, (fast, ips)
        assert ("203.0.113.66", 9) in ips, (fast, ips)
        assert "`198.51.100.23` (30)" in render_markdown(digest)


def test_digest_counts_an_ips_lines_across_detectors_in_both_engines(tmp_path: Path) -> None:
    """One IP flagged by brute_force (30 lines), scanner_probe (5 other lines) and
    suspicious_user_agent (4 other lines, 2 more shared with scanner_probe): 41 lines, not the 30
    of its largest detector, in the columnar engine and the line pipeline alike."""
    from prodshield.logs.digest import build_digest
    from prodshield.logs.scan import scan_files

    ip = "192.0.2.50"
    stamp = "[06/Dec/2026:11:{:02d}:{:02d} +0000]"
    requests = (
        [("POST /login", 401, "Mozilla/5.0")] * 30
        + [("GET /.env", 404, "Mozilla/5.0")] * 5
        + [("GET /shop", 200, "nikto/2.5")] * 4
        + [("GET /.git/config", 404, "nikto/2.5")] * 2
    )
    log = tmp_path / "access.log"
    log.write_text(
        "".join(
            f'{ip} - - {stamp.format(i // 60, i % 60)} "{req} HTTP/1.1" {status} 9 "-" "{agent}" '
            "0.001\n"
            for i, (req, status, agent) in enumerate(requests)
        )
    )
    for fast in (False, True):
        result = scan_files([log], settings=DetectorSettings(), fast=fast)
        assert (result.stats.get("engine") == "polars") == fast
        counts = {f.kind: f.count for f in result.findings if f.category == "security"}
        assert counts == {"brute_force": 30, "scanner_probe": 7, "suspicious_user_agent": 6}
        ips, _ = build_digest(result).offenders()
        assert ips == [(ip, 41)], (fast, ips)
        assert "lines" not in result.findings[0].to_dict()


def _github_token() -> str:
    import zlib

    from prodshield.secrets.rules.base import base62

    body = "Zx8q" * 7 + "Lm"
    return "ghp_" + body + base62(zlib.crc32(body.encode()))


def _block_corpus() -> list[str]:
    """Lines of every kind the detectors read: Loghub systems (auth, kernel, errors), an access
    log, tracebacks, PostgreSQL durations, secrets, non-ASCII text."""
    lines: list[str] = []
    for system in ("OpenSSH", "Linux", "Apache", "Hadoop", "Zookeeper", "Thunderbird"):
        lines += loghub(system).read_text(errors="replace").splitlines()[:600]
    lines += [
        f'10.0.0.7 - - [04/Dec/2026:10:00:0{i % 10} +0000] "POST /api/checkout/{i} HTTP/1.1" '
        f'50{i % 3} 12 "-" "curl/8"'
        for i in range(40)
    ]
    lines += [
        '10.0.0.9 - - [04/Dec/2026:10:01:00 +0000] "GET /.env HTTP/1.1" 401 1 "-" "sqlmap/1.7"'
    ] * 25
    lines += [
        "2026-12-04 10:00:00,001 ERROR app: payment failed",
        "Traceback (most recent call last):",
        '  File "app.py", line 3, in <module>',
        "ValueError: bad card",
        "2026-12-04 10:00:01 UTC [12] LOG:  duration: 812.5 ms  statement: SELECT * FROM t WHERE id = 7",
        'Exception in thread "main" java.lang.IllegalStateException: boom',
        "\tat com.shop.Cart.add(Cart.java:12)",
        f"pushed with token {_github_token()} today",
        "Übergröße: connexion refusée à la base — could not connect to server",
        "QUOTA_EXCEEDED for tenant 4",  # the first user rule takes it: one line, one finding
        "quota exceeded again",
        "tenant 7 is over its plan",
    ]
    return lines


@pytest.mark.parametrize("user_rules", [False, True])
def test_block_gate_gives_the_findings_of_a_line_by_line_pass(user_rules: bool) -> None:
    """The service's block pass (one literal scan picks the lines a detector can act on) finds
    exactly what running every detector on every line finds."""
    from prodshield.logs.api import mine, parse_lines
    from prodshield.logs.scan import _Collector

    settings = DetectorSettings()
    if user_rules:  # one rule with keywords, one without (its pattern searched over the block)
        settings.user_rules = [
            {"kind": "quota", "patterns": [r"quota[_ ]exceeded"], "severity": "high"},
            {"kind": "tenant", "patterns": [r"tenant \d+"], "keywords": ["tenant"]},
        ]
    lines = _block_corpus()
    events = list(mine(parse_lines(lines, "mixed.log", "auto")))
    assert len(events) > 3000
    one, block = _Collector(settings), _Collector(settings)
    for event in events:
        one.observe(event)
    for start in range(0, len(events), 700):
        block.observe_many(events[start : start + 700])
    assert block.done == len(events[start:])

    def shown(c: _Collector) -> list[tuple[object, ...]]:
        return sorted(
            (f.kind, f.fingerprint, f.count, f.severity, f.message, tuple(f.samples))
            for f in c.findings()
        )

    expected = shown(one)
    assert {k for k, *_ in expected} >= {"brute_force", "invalid_user", "secret_in_log"}
    if user_rules:
        assert {k for k, *_ in expected} >= {"quota", "tenant"}
    assert shown(block) == expected
    picked = block._gate.candidates(events) if block._gate else None
    assert picked is not None and len(picked) < len(events) / 2  # the gate did turn lines away
    assert block.events == one.events and block.template_counts == one.template_counts


def test_secret_in_log_keeps_every_place_across_files_and_sealed_windows() -> None:
    """One finding per rule: each secret lists every file:line, also when the service seals the
    finding between two windows (sealing replaces its lists)."""
    from prodshield.logs.detectors.secrets import SecretInLogDetector
    from prodshield.logs.event import LogEvent

    token = _github_token()
    detector = SecretInLogDetector(DetectorSettings())

    def see(source: str, line: int) -> None:
        raw = f"ERROR auth failed with token={token}"
        detector.observe(LogEvent(source, line, None, "error", raw, raw=raw))

    see("app.log", 3)
    [finding] = detector.findings()
    finding.seal()  # what the service does with a changed finding after each window
    see("worker.log", 9)
    see("app.log", 12)
    [finding] = detector.findings()
    [secret] = finding.details["secrets"]
    assert secret["places"] == ["app.log:3", "worker.log:9", "app.log:12"]
    assert secret["count"] == 3 and finding.details["files"] == ["app.log", "worker.log"]
    assert "app.log:3, worker.log:9, app.log:12" in finding.message
    assert token not in json.dumps(finding.seal().to_dict())


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_each_detectors_example_finds_what_it_says(kind: str) -> None:
    """A detector's ``example`` (lines in a format) makes that detector alone report ``finds``."""
    example = REGISTRY[kind].example  # type: ignore[attr-defined]
    events = parse_lines(example["lines"], log_format=example["format"])
    result = scan_events(events, detectors=[kind])
    assert example["finds"] in {f.kind for f in result.findings}, result.findings


@pytest.mark.parametrize("fast", [False, True])
def test_finding_messages_count_in_the_singular_and_plural(tmp_path: Path, fast: bool) -> None:
    """One slow execution reads "1 execution", one request "1 of 1 request"; two read plural."""
    from prodshield.cli.logs_intel import run_scan

    pg = tmp_path / "postgresql.log"
    pg.write_text(
        "2026-12-04 10:00:01 UTC [12] LOG:  duration: 812.5 ms  statement: SELECT * FROM a\n"
        "2026-12-04 10:00:02 UTC [12] LOG:  duration: 912.5 ms  statement: SELECT * FROM b\n"
        "2026-12-04 10:00:03 UTC [12] LOG:  duration: 712.5 ms  statement: SELECT * FROM b\n"
    )
    access = tmp_path / "access.log"
    lines = [
        NGINX.format(
            ip="10.0.0.1", m=0, s=1, method="GET", path="/once", status=200, ua="curl/8", rt="2.5"
        )
    ]
    lines += [
        NGINX.format(
            ip="10.0.0.1", m=0, s=i, method="GET", path="/twice", status=200, ua="curl/8", rt="2.5"
        )
        for i in (2, 3)
    ]
    access.write_text("".join(lines))
    result = run_scan([pg, access], "auto", None, None, DetectorSettings(), fast=fast)
    messages = {
        (f.source.get("query") or f.source.get("endpoint")): f.message for f in result.findings
    }
    queries = {f.message for f in by_kind(result, "slow_query")}
    assert queries == {
        "1 execution over 500 ms (max 812 ms)",
        "2 executions over 500 ms (max 912 ms)",
    }
    assert messages["GET /once"] == "slow requests on GET /once: 1 of 1 request over 1000 ms"
    assert messages["GET /twice"] == "slow requests on GET /twice: 2 of 2 requests over 1000 ms"


@pytest.mark.parametrize("fast", [False, True])
def test_http_5xx_severity_under_the_rate_minimum(tmp_path: Path, fast: bool) -> None:
    """Too few requests for an error rate: 5 of 5 failed is high, 5 of 9 medium, 4 of 4 low,
    on both engines (the failures are minutes apart: no burst)."""
    from prodshield.cli.logs_intel import run_scan

    def line(m: int, s: int, path: str, status: int) -> str:
        return NGINX.format(
            ip="10.0.0.1", m=m, s=s, method="GET", path=path, status=status, ua="curl/8", rt="0.01"
        )

    lines = []
    for m in range(9):
        if m < 5:
            lines.append(line(2 * m, 0, "/down", 500))
        lines.append(line(2 * m, 1, "/half", 500 if m < 5 else 200))
        if m < 4:
            lines.append(line(2 * m, 2, "/few", 502))
    log = tmp_path / "access.log"
    log.write_text("".join(lines))
    result = run_scan([log], "auto", None, None, DetectorSettings(), fast=fast)
    found = {f.source.get("endpoint"): (f.kind, f.severity) for f in by_kind(result, "http_5xx")}
    assert found == {
        "GET /down": ("http_5xx", "high"),
        "GET /half": ("http_5xx", "medium"),
        "GET /few": ("http_5xx", "low"),
    }


def test_is_address_says_what_ipaddress_says() -> None:
    """sshd sessions tell an address from a PAM host name per line: the dotted-quad shortcut
    takes exactly what ``ipaddress`` takes (no leading zeros, no other digits than ASCII)."""
    import ipaddress
    import random

    from prodshield.logs.detectors.sessions import is_address

    def reference(text: str) -> bool:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            return False
        return True

    rng = random.Random(19)
    octets = ["0", "00", "01", "1", "9", "10", "99", "100", "199", "200", "249", "250", "255"]
    octets += ["256", "300", "999", "0001", "\u0661", "a", "", " 1", "1 "]
    texts = ["::1", "2001:db8::", "fe80::1%eth0", "::ffff:1.2.3.4", "1::2::3", "host.example"]
    for _ in range(50_000):
        text = rng.choice(".....:").join(
            rng.choice(octets) for _ in range(rng.choice([3, 4, 4, 5]))
        )
        texts.append(text + rng.choice(["", "", "", "\n", ":", ".", "%eth0"]))
    assert [is_address(t) for t in texts] == [reference(t) for t in texts]
    assert is_address("203.0.113.7") and not is_address("scanner.example.net")
    assert not is_address(None) and not is_address("")
