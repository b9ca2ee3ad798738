"""Each detector tracks at most ``logs.detector_keys`` keys (addresses, endpoints, templates) per
epoch; past the cap the others are folded into one finding per kind and file, their count exact.

The lines are parsed and scanned as ``logs scan`` does (``scan_events``), with a cap of 100."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prodshield.logs.api import parse_lines
from prodshield.logs.detectors import DetectorSettings
from prodshield.logs.detectors.base import Distinct, folded_findings
from prodshield.logs.findings import LogFinding
from prodshield.logs.scan import scan_events

SETTINGS = DetectorSettings(max_keys=100)


def _nginx(i: int, request: str, status: int, ip: str | None = None) -> str:
    ip = ip or f"2001:db8::{i:x}"
    return (
        f'{ip} - - [06/Dec/2026:10:{i // 60 % 60:02d}:{i % 60:02d} +0000] "{request} HTTP/1.1" '
        f'{status} 0 "-" "Mozilla/5.0" 0.001'
    )


def test_5xx_on_sprayed_paths_fold_into_other_endpoints() -> None:
    lines = [_nginx(i, f"GET /x{i}", 500) for i in range(250)]
    result = scan_events(parse_lines(lines, "access.log", "nginx"), settings=SETTINGS)
    errors = [f for f in result.findings if f.kind in ("http_5xx", "http_5xx_burst", "error_rate")]
    assert len(errors) == 101  # 100 endpoints of their own and the others
    assert sum(f.count for f in errors) == 250
    other = next(f for f in errors if f.source["endpoint"] == "(other endpoints)")
    assert other.count == 150
    assert len(result.endpoints) == 101


def test_error_templates_past_the_cap_fold_into_one_finding() -> None:
    lines = [
        f"2026-12-06 10:00:{i % 60:02d},000 ERROR app: failure {'ab' * (i % 7)} kind{chr(97 + i % 26)}"
        f"{chr(97 + i // 26 % 26)}{chr(97 + i // 676)} in {'x' * (i % 5)}"
        for i in range(400)
    ]
    result = scan_events(parse_lines(lines, "app.log", "python"), settings=SETTINGS)
    logged = [f for f in result.findings if f.kind == "error_logged"]
    assert len(logged) == 101  # 100 templates of their own and the others
    assert sum(f.count for f in logged) == 400
    folded = next(f for f in logged if f.source.get("others") == "templates")
    assert folded.count == 300
    assert folded.message == "300 lines logged at error or worse, 300 other templates"
    assert folded.details["keys_tracked"] == 100  # the cap it was folded past
    assert all("keys_tracked" not in f.details for f in logged if f is not folded)


def test_failed_logins_past_the_cap_fold_and_a_brute_forcer_is_still_named() -> None:
    lines = []
    for i in range(3000):
        sec = i * 200 // 3000
        stamp = f"Dec  6 10:{sec // 60:02d}:{sec % 60:02d}"
        if i % 250 == 125:  # 12 failed logins, 250 sprayed lines apart (more than the cap keeps)
            lines.append(
                f"{stamp} web1 sshd[9]: Failed password for admin from 192.0.2.77 port 22 ssh2"
            )
        lines.append(
            f"{stamp} web1 sshd[8]: Failed password for root from 10.0.{i >> 8}.{i & 255} port 22 ssh2"
        )
    result = scan_events(parse_lines(lines, "auth.log", "syslog"), settings=SETTINGS)
    failures = [f for f in result.findings if f.kind == "auth_failure"]
    assert len(failures) == 101  # 100 addresses and the others
    assert sum(f.count for f in failures) == 3012
    folded = next(f for f in failures if f.source.get("others") == "addresses")
    assert "ip" not in folded.source and not len(folded.lines)  # never an offender
    assert folded.count == 3012 - 100
    found = re.fullmatch(
        rf"{folded.count:,} failed logins from about ([\d,]+) other addresses", folded.message
    )
    assert found and abs(int(found.group(1).replace(",", "")) - 2901) < 60, folded.message
    brute = [f for f in result.findings if f.kind == "brute_force"]
    assert [f.source["ip"] for f in brute] == ["192.0.2.77"]
    assert brute[0].count >= 10


def test_distinct_is_exact_then_close() -> None:
    few = Distinct()
    for i in range(900):
        few.add(f"10.0.0.{i}")
        few.add(f"10.0.0.{i}")
    assert (
        few.exact and len(few) == 900 and few.say("address", "addresses") == "900 other addresses"
    )
    many = Distinct()
    for i in range(100_000):
        many.add(f"2001:db8::{i:x}")
    assert not many.exact and abs(len(many) - 100_000) < 3_000
    assert many.say("address", "addresses").startswith("about ")


@pytest.mark.parametrize("fast", [True, False])
def test_sprayed_probes_fold_the_same_in_both_engines(tmp_path: Path, fast: bool) -> None:
    """``logs scan`` of an access log: the columnar engine folds as the line pipeline does."""
    from prodshield.cli.logs_intel import run_scan

    log = tmp_path / "access.log"
    log.write_text("".join(_nginx(i, f"GET /p{i}/.env", 404) + "\n" for i in range(1500)))
    result = run_scan([log], "auto", None, None, SETTINGS, fast=fast)
    probes = [f for f in result.findings if f.kind == "scanner_probe"]
    assert len(probes) == 101
    assert sum(f.count for f in probes) == 1500
    folded = next(f for f in probes if f.source.get("others") == "addresses")
    assert "ip" not in folded.source
    assert re.fullmatch(
        r"1,400 requests probing for vulnerable paths from about 1,[34]\d\d other addresses "
        r"\(e\.g\. /p\d+/\.env\)",
        folded.message,
    ), folded.message
    tracked = sorted(int(f.source["ip"].rsplit(":", 1)[1], 16) for f in probes if f is not folded)
    assert tracked == list(range(100))  # the first addresses, in line order


def test_tracebacks_past_the_cap_fold_into_one_finding() -> None:
    lines = []
    for i in range(150):
        lines += [
            f"2026-12-06 10:00:{i % 60:02d},000 ERROR app: request failed",
            "Traceback (most recent call last):",
            f'  File "/srv/app/m{i}.py", line 3, in handler',
            "ValueError: bad input",
        ]
    result = scan_events(parse_lines(lines, "app.log", "python"), settings=SETTINGS)
    found = [f for f in result.findings if f.kind == "unhandled_exception"]
    assert len(found) == 101
    assert sum(f.count for f in found) == 150
    folded = next(f for f in found if f.source.get("others") == "exceptions")
    assert folded.message == "50 unhandled exceptions at 50 other places (exception and top frame)"
    assert folded.details["keys_tracked"] == 100
    assert all("keys_tracked" not in f.details for f in found if f is not folded)


def test_folded_findings_words_only_the_folded_ones() -> None:
    """``folded_findings`` (detectors/base.py), which error_logged and unhandled_exception share:
    the finding holding the keys past the cap gets the detector's wording and the cap; the
    others are returned as they were."""
    own = LogFinding("critical", "k", "high", source={}, message="own")
    rest = LogFinding("critical", "k", "high", source={}, message="")
    others = Distinct()
    for text in ("a", "b", "a"):
        others.add(text)
    out = folded_findings(
        {"own": own, "rest": rest},
        {"rest": others},
        7,
        lambda f, o: f"{f.count} folded, {o.say('name', 'names')}",
    )
    assert out == [own, rest]
    assert own.message == "own" and "keys_tracked" not in own.details
    assert rest.message == "0 folded, 2 other names" and rest.details["keys_tracked"] == 7
