"""logs.rules and source layouts in shield.yaml (located errors, used by the scan), absolute
--from/--until windows, and the follower's symlink and small-truncation cases (issue 18)."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from prodshield.config import parse_config
from prodshield.errors import ConfigError
from prodshield.logs.detectors import DetectorSettings
from prodshield.logs.formats.layout import compile_apache, compile_nginx
from prodshield.logs.scan import scan_files
from prodshield.logs.sources.follow import FileFollower, SourceRefused
from prodshield.logs.validation import layout_problems
from prodshield.store import Store


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, name="shield.yaml", env={}, validators=[layout_problems])
    return info.value.problems


def test_rule_and_layout_mistakes_are_located_lines() -> None:
    text = """\
logs:
  sources:
    - name: web
      path: access.log
      log_format: 'just text'
  rules:
    - kind: payment_declined
      pattern: 'card (declined'
    - kind: ok_rule
      pattern: 'fine'
      severity: urgent
    - kind: no_pattern
"""
    problems = errors_of(text)
    assert any(
        p.startswith("shield.yaml:8:") and "not a valid regular expression" in p for p in problems
    ), problems
    assert any(p.startswith("shield.yaml:11:") and "severity" in p for p in problems), problems
    assert any(p.startswith("shield.yaml:12:") and "needs a pattern" in p for p in problems), (
        problems
    )


def test_a_layout_that_does_not_compile_is_a_located_line() -> None:
    text = """\
logs:
  sources:
    - name: web
      path: access.log
      log_format: 'just text'
    - name: api
      path: api.log
      apache_format: '%h %l %u %t "%r" %>s %b'
"""
    problems = errors_of(text)
    assert len(problems) == 1, problems
    assert problems[0].startswith("shield.yaml:5:") and "no $variable" in problems[0], problems


def test_user_rules_with_threshold_and_window(tmp_path: Path) -> None:
    loaded = parse_config(
        """\
logs:
  rules:
    - kind: payment_declined
      pattern: 'card declined for order (?P<detail>\\d+)'
      severity: high
      message: "{count} declined card payments"
    - kind: retry_storm
      pattern: 'retrying request'
      threshold: 5
      window: 10s
""",
        name="shield.yaml",
        env={},
    )
    settings = DetectorSettings.from_config(loaded.config.logs)
    log = tmp_path / "app.log"
    lines = ["2026-12-04 10:00:00,000 INFO app: card declined for order 7"]
    # four retries spread out (never five within 10 s), then five within two seconds
    lines += [f"2026-12-04 10:0{i}:00,000 WARNING app: retrying request" for i in range(1, 5)]
    log.write_text("\n".join(lines) + "\n")
    kinds = {f.kind: f for f in scan_files([log], settings=settings).findings}
    assert kinds["payment_declined"].message == "1 declined card payments"
    assert kinds["payment_declined"].severity == "high"
    assert "retry_storm" not in kinds
    lines += [f"2026-12-04 10:06:0{i},000 WARNING app: retrying request" for i in range(5)]
    log.write_text("\n".join(lines) + "\n")
    storm = {f.kind: f for f in scan_files([log], settings=settings).findings}["retry_storm"]
    # the storm's five lines: the four spread out were never part of one (docs/logs.md, Rules)
    assert storm.count == 5 and storm.details["peak_in_window"] == 5


NGINX_LAYOUT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" rt=$request_time uct="$upstream_connect_time"'
)


def test_nginx_log_format_and_apache_logformat_compile_to_parsers() -> None:
    nginx = compile_nginx(NGINX_LAYOUT)
    rec = nginx.parse(
        '203.0.113.9 - alice [04/Dec/2026:10:00:01 +0000] "POST /api/checkout/42 HTTP/1.1" 502 '
        '17 "-" "Mozilla/5.0 (X11)" rt=1.250 uct="0.001"'
    )
    assert rec is not None
    assert rec.fields["client_ip"] == "203.0.113.9"
    assert rec.fields["user"] == "alice"
    assert (rec.fields["method"], rec.fields["path"], rec.fields["status"]) == (
        "POST",
        "/api/checkout/42",
        502,
    )
    assert rec.fields["duration_ms"] == 1250.0
    assert rec.fields["user_agent"] == "Mozilla/5.0 (X11)"
    assert rec.fields["upstream_connect_time"] == "0.001"
    assert rec.level == "error"
    assert rec.timestamp == datetime.fromisoformat("2026-12-04T10:00:01+00:00")
    assert nginx.parse("not an access line") is None

    apache = compile_apache('%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" %D')
    rec = apache.parse(
        '198.51.100.7 - - [04/Dec/2026:10:00:02 +0100] "GET /index.html HTTP/1.1" 200 512 '
        '"https://example.com/" "curl/8.5" 2500'
    )
    assert rec is not None
    assert rec.fields["status"] == 200 and rec.fields["duration_ms"] == 2.5
    assert rec.fields["referer"] == "https://example.com/"
    assert rec.timestamp is not None and rec.timestamp.utcoffset() is not None


def test_scan_reads_a_source_in_its_configured_layout(tmp_path: Path) -> None:
    """A layout the built-in formats do not know (the status first): the configured
    log_format makes its 5xx burst visible, with the endpoint readable."""
    layout = '$status $request_time $remote_addr "$request"'
    log = tmp_path / "odd.log"
    log.write_text(
        "".join(f'500 0.010 10.0.0.{i} "POST /api/checkout/{i} HTTP/1.1"\n' for i in range(6))
    )
    result = scan_files(
        [log], settings=DetectorSettings(), layouts={str(log): compile_nginx(layout)}
    )
    burst = next(f for f in result.findings if f.kind.startswith("http_5xx"))
    assert burst.source == {"endpoint": "POST /api/checkout/:id"}
    assert burst.count == 6


def test_absolute_from_until_window(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "2026-12-03 10:00:00,000 ERROR app: could not connect to server: Connection refused\n"
        "2026-12-04 10:00:00,000 ERROR app: Out of memory: Killed process 1 (worker)\n"
        "2026-12-05 10:00:00,000 ERROR app: No space left on device\n"
    )
    result = scan_files(
        [log],
        settings=DetectorSettings(),
        start=datetime(2026, 12, 4),
        until=datetime(2026, 12, 4, 23, 59),
    )
    assert [f.kind for f in result.findings] == ["out_of_memory"]
    assert result.stats["events"] == 1


def test_a_truncated_small_file_misses_no_new_line(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "a.log"
    log.write_text("first line\n")
    follower = FileFollower(store, str(log))
    assert follower.poll() == ["first line"]
    # truncated (copytruncate) and refilled past the old size before the next poll
    log.write_text("after truncation 1\nafter truncation 2\n")
    assert follower.poll() == ["after truncation 1", "after truncation 2"]
    follower.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the target is a root-only file")
def test_a_symlink_leaving_the_directory_is_not_followed_even_by_root(
    tmp_path: Path, store: Store
) -> None:
    logs, secret_dir = tmp_path / "logs", tmp_path / "private"
    logs.mkdir()
    secret_dir.mkdir(mode=0o700)
    secret = secret_dir / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    secret.chmod(0o600)
    log = logs / "app.log"
    log.write_text("hello\n")
    follower = FileFollower(store, str(log), root=str(logs), follow_symlinks=False)
    assert follower.poll() == ["hello"]
    # a local user able to write the log directory swaps the file for a symlink
    log.unlink()
    log.symlink_to(secret)
    with pytest.raises(SourceRefused, match="outside"):
        for _ in range(3):
            follower.poll()
    follower.close()
    again = FileFollower(store, str(log), root=str(logs), follow_symlinks=False)
    with pytest.raises(SourceRefused):
        again.poll()
    again.close()
    # a symlink inside the directory is fine, and follow_symlinks allows the outside one
    inside = logs / "current.log"
    inside.write_text("inside\n")
    link = logs / "link.log"
    link.symlink_to(inside)
    ok = FileFollower(store, str(link), root=str(logs), follow_symlinks=False)
    assert ok.poll() == ["inside"]
    ok.close()
    allowed = FileFollower(store, str(log), source="allowed", root=str(logs), follow_symlinks=True)
    assert allowed.poll() == ["root:$6$secret-hash:19000:0:99999:7:::"]
    allowed.close()
    shutil.rmtree(secret_dir)


def test_a_user_rule_on_a_parsed_field(tmp_path: Path) -> None:
    loaded = parse_config(
        "logs:\n"
        "  rules:\n"
        "    - {kind: admin_from_outside, field: path, patterns: ['^/admin'], category: security}\n",
        name="shield.yaml",
        env={},
    )
    log = tmp_path / "access.log"
    log.write_text(
        '198.51.100.9 - - [04/Dec/2026:10:00:01 +0000] "GET /admin/users HTTP/1.1" 200 5 "-" "x"\n'
        '198.51.100.9 - - [04/Dec/2026:10:00:02 +0000] "GET /shop HTTP/1.1" 200 5 "-" "x"\n'
    )
    settings = DetectorSettings.from_config(loaded.config.logs)
    found = [
        f for f in scan_files([log], settings=settings).findings if f.kind == "admin_from_outside"
    ]
    assert len(found) == 1 and found[0].count == 1
    assert found[0].category == "security" and found[0].source["ip"] == "198.51.100.9"
    assert found[0].message == "1 line matched admin_from_outside from 198.51.100.9"


def test_scan_of_a_named_file_uses_its_sources_layout(tmp_path: Path) -> None:
    import json

    from support.cli import prodshield

    (tmp_path / "shield.yaml").write_text(
        "logs:\n"
        "  sources:\n"
        "    - name: odd\n"
        "      path: odd.log\n"
        "      log_format: '$status $request_time $remote_addr \"$request\"'\n"
    )
    (tmp_path / "odd.log").write_text(
        "".join(f'500 0.010 10.0.0.{i} "POST /api/checkout HTTP/1.1"\n' for i in range(6))
    )
    proc = prodshield(tmp_path, "logs", "scan", "odd.log", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    kinds = {f["kind"]: f for f in json.loads(proc.stdout)["findings"]}
    assert kinds["http_5xx_burst"]["source"] == {"endpoint": "POST /api/checkout"}
