"""Journey: a ``logs.rules`` rule with a threshold counts each line once (issue 19: one line,
one finding). Lines it matched under its threshold are ``error_logged`` lines until the
threshold is reached within the window; then they are the burst's, and only the burst's: no
longer also ``error_logged`` lines. Lines that never joined a burst stay ``error_logged`` and are
not in the rule's count. ``logs scan``, ``logs digest`` and ``serve`` (the file growing while it
follows it) give the same counts for the same lines."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.net import wait_until
from support.serve import get, read_bound, start_serve, stop_serve

TOKEN = "journey-token-0123456789abcdef"
RULES = """logs:
  rules:
    - kind: payment_declined
      pattern: 'card declined for order (?P<detail>\\d+)'
      severity: high
      message: "{count} card payment{s} declined"
      threshold: 5
      window: 10m
"""


def _declines(times: list[str], first: int) -> str:
    return "".join(
        f"2026-12-07 {t}:00,000 ERROR payments: card declined for order {first + i}\n"
        for i, t in enumerate(times)
    )


# three declines 20 minutes apart (never 5 within 10 minutes), then four within four minutes...
BEFORE = _declines(["02:00", "02:20", "02:40"], 200) + _declines(
    ["04:41", "04:42", "04:43", "04:44"], 300
)
# ...and four more: the fifth within 10 minutes makes a burst of eight
AFTER = _declines(["04:45", "04:46", "04:47", "04:48"], 304)
EXPECTED = {"payment_declined": 8, "error_logged": 3}


def _env() -> dict[str, str]:
    return shell_env(drop=("PRODSHIELD_",), COLUMNS="200", NO_COLOR="1")


def _kinds(findings: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f["kind"]] = out.get(f["kind"], 0) + f["count"]
    return out


def test_scan_and_digest_count_each_line_once(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\n" + RULES)
    (tmp_path / "pay.log").write_text(BEFORE + AFTER)

    scan = prodshield(
        tmp_path, "logs", "scan", "pay.log", "--no-store", "--format", "json", env=_env()
    )
    assert scan.returncode == 1, scan.stderr
    findings = json.loads(scan.stdout)["findings"]
    assert _kinds(findings) == EXPECTED, findings  # 11 lines, 11 counts
    declined = next(f for f in findings if f["kind"] == "payment_declined")
    assert declined["message"] == "8 card payments declined"
    # the burst's orders only: the three lone declines are error_logged lines
    assert list(declined["details"]["detail_values"]) == [str(300 + i) for i in range(8)]
    errors = next(f for f in findings if f["kind"] == "error_logged")
    assert errors["first_seen"].startswith("2026-12-07T02:00")

    digest = prodshield(
        tmp_path, "logs", "digest", "pay.log", "--no-store", "--format", "json", env=_env()
    )
    assert digest.returncode == 0, digest.stderr
    assert _kinds(json.loads(digest.stdout)["critical"]) == EXPECTED


def test_serve_gives_back_the_error_lines_a_burst_takes(tmp_path: Path) -> None:
    (tmp_path / "pay.log").write_text(BEFORE)
    # another shop: four declines, then four more (its error_logged row is left with none)
    (tmp_path / "shop.log").write_text(_declines(["04:41", "04:42", "04:43", "04:44"], 500))
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        + RULES.replace(
            "logs:\n",
            "logs:\n  window: 1s\n  sources:\n    - {name: pay, path: pay.log, format: python}\n"
            "    - {name: shop, path: shop.log, format: python}\n",
            1,
        )
    )
    serve = start_serve(
        tmp_path / "shield.yaml",
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port, _ = read_bound(serve)

        seen: list[dict[str, int]] = [{}]

        def counts_are(expected: dict[str, int]) -> bool:
            seen[0] = _kinds(get(port, "/api/v1/findings", token=TOKEN)["logs"])
            return seen[0] == expected

        # 7 + 4 declines, none in a burst yet: 11 error lines (the rule hides nothing)
        wait_until(lambda: counts_are({"error_logged": 11}), "eleven error lines", 90)
        with (tmp_path / "pay.log").open("a") as log:
            log.write(AFTER)
        with (tmp_path / "shop.log").open("a") as log:
            log.write(_declines(["04:45", "04:46", "04:47", "04:48"], 504))
        # each burst takes its four held lines back from its file's stored error_logged row
        # (shop.log's is left with none: removed)
        wanted = {"payment_declined": 16, "error_logged": 3}
        try:
            wait_until(lambda: counts_are(wanted), "the bursts", 90)
        except AssertionError:
            raise AssertionError(f"serve's findings: {seen[0]}, wanted {wanted}") from None
    finally:
        stop_serve(serve, timeout=60)


def test_serve_keeps_an_earlier_hours_error_lines_when_a_burst_takes_its_own(
    tmp_path: Path,
) -> None:
    """The three lone declines are stored in one epoch (the detectors start afresh every hour,
    and at a reload); the next epoch's four held lines go to the same error_logged row (7), and
    when the burst takes them back the row goes back to the earlier hour's 3 (it kept 7: the
    four lines were counted twice, there and in the burst)."""
    (tmp_path / "pay.log").write_text(_declines(["02:00", "02:20", "02:40"], 200))
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        + RULES.replace(
            "logs:\n",
            "logs:\n  window: 1s\n  sources:\n    - {name: pay, path: pay.log, format: python}\n",
            1,
        )
    )
    errors = tmp_path / "serve.err"
    with errors.open("wb") as err:
        serve = start_serve(
            tmp_path / "shield.yaml", cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=err
        )
    try:
        port, _ = read_bound(serve)
        seen: list[dict[str, int]] = [{}]

        def counts_are(expected: dict[str, int]) -> bool:
            seen[0] = _kinds(get(port, "/api/v1/findings", token=TOKEN)["logs"])
            return seen[0] == expected

        wait_until(lambda: counts_are({"error_logged": 3}), "three error lines", 90)
        serve.send_signal(signal.SIGHUP)  # a new epoch, as every hour
        wait_until(lambda: "new configuration in effect" in errors.read_text(), "the reload", 60)
        with (tmp_path / "pay.log").open("a") as log:
            log.write(_declines(["04:41", "04:42", "04:43", "04:44"], 300))
        wait_until(lambda: counts_are({"error_logged": 7}), "seven error lines", 90)
        with (tmp_path / "pay.log").open("a") as log:
            log.write(AFTER)
        try:
            wait_until(lambda: counts_are(EXPECTED), "the burst", 90)
        except AssertionError:
            raise AssertionError(f"serve's findings: {seen[0]}, wanted {EXPECTED}") from None
    finally:
        stop_serve(serve, timeout=60)
