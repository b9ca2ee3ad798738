"""Journey: ``serve``'s log detectors start afresh every hour (their epoch: bounded memory) and
at a SIGHUP reload. They started from nothing, so what they held under a threshold was forgotten
at the boundary: a ``logs.rules`` rule with ``threshold: 5`` given four declines before it and
four after stored ``error_logged 8`` and no ``payment_declined`` (``logs scan`` of the same file:
``payment_declined 8``), and 15 failed logins before it and 15 after never made the brute force
``logs scan`` finds. Now what is still inside its window goes on into the next epoch (a rule's
matches and held lines, brute force's sources, sshd's sessions): the stored findings are the ones
``logs scan`` gives for the same lines, across the hourly epoch (every window is one here:
tests/support/scripts/serve_every_window_an_epoch.py) and across a reload."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.net import wait_until
from support.serve import get, read_bound, stop_serve

TOKEN = "journey-token-0123456789abcdef"
SCRIPT = Path(__file__).parents[1] / "support" / "scripts" / "serve_every_window_an_epoch.py"
RULE = """  rules:
    - kind: payment_declined
      pattern: 'card declined for order (?P<detail>\\d+)'
      severity: high
      threshold: 5
      window: 1h
"""
IP = "203.0.113.91"


def _declines(first: int, last: int) -> str:
    return "".join(
        f"2026-12-07 04:{40 + i:02d}:00,000 ERROR payments: card declined for order {300 + i}\n"
        for i in range(first, last)
    )


def _failed(first: int, last: int) -> str:
    return "".join(
        f"Dec  7 03:00:{i:02d} web1 sshd[{5000 + i}]: "
        f"Failed password for root from {IP} port {41000 + i} ssh2\n"
        for i in range(first, last)
    )


def _env() -> dict[str, str]:
    return shell_env(drop=("PRODSHIELD_",), COLUMNS="200", NO_COLOR="1", TZ="UTC")


def _config(tmp_path: Path, name: str, fmt: str, extra: str = "") -> Path:
    config = tmp_path / "shield.yaml"
    config.write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  brute_force_failures: 20\n"
        f"  sources:\n    - {{name: app, path: {name}, format: {fmt}}}\n" + extra
    )
    return config


@contextmanager
def _serve(tmp_path: Path, config: Path, *, every_window: bool) -> Iterator[tuple[int, Any]]:
    """serve (each window a new epoch with ``every_window``); its port, and a function that
    reloads it (SIGHUP) and waits until the new configuration is in effect."""
    cli = [str(SCRIPT)] if every_window else ["-m", "prodshield"]
    errors = tmp_path / "serve.err"
    with errors.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, *cli, "serve", "-c", str(config)],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )

    def reload() -> None:
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "new configuration in effect" in errors.read_text(), "the reload", 60)

    try:
        port, _ = read_bound(proc)
        yield port, reload
    finally:
        stop_serve(proc, timeout=60)


def _kinds(findings: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f["kind"]] = out.get(f["kind"], 0) + f["count"]
    return out


def _wait_counts(port: int, expected: dict[str, int], what: str, only: str = "") -> None:
    seen: list[dict[str, int]] = [{}]

    def counts_are() -> bool:
        logs = get(port, "/api/v1/findings", token=TOKEN)["logs"]
        seen[0] = _kinds([f for f in logs if f["kind"] == only or not only])
        return seen[0] == expected

    try:
        wait_until(counts_are, what, 90)
    except AssertionError:
        raise AssertionError(f"serve's findings: {seen[0]}, wanted {expected} ({what})") from None


def _scanned(tmp_path: Path, name: str) -> dict[str, int]:
    scan = prodshield(tmp_path, "logs", "scan", name, "--no-store", "--format", "json", env=_env())
    assert scan.returncode in (0, 1), scan.stderr
    return _kinds(json.loads(scan.stdout)["findings"])


def _rule_burst(tmp_path: Path, port: int, boundary: Callable[[], None]) -> None:
    _wait_counts(port, {"error_logged": 4}, "four declines held under the threshold")
    boundary()
    with (tmp_path / "pay.log").open("a") as fh:
        fh.write(_declines(4, 8))
    # the fifth decline within the hour makes a burst of eight: the four before the boundary
    # leave their error_logged row (removed: nothing else is in it)
    _wait_counts(port, {"payment_declined": 8}, "the burst across the boundary")
    assert _scanned(tmp_path, "pay.log") == {"payment_declined": 8}


def _brute_force(tmp_path: Path, port: int, boundary: Callable[[], None]) -> None:
    _wait_counts(port, {"auth_failure": 15}, "fifteen failed logins, under the threshold of 20")
    boundary()
    with (tmp_path / "auth.log").open("a") as fh:
        fh.write(_failed(15, 30))
    # thirty within five minutes: one brute force takes them all, the row of the fifteen too
    _wait_counts(port, {"brute_force": 30}, "the brute force across the boundary")
    assert _scanned(tmp_path, "auth.log") == {"brute_force": 30}


def _nothing() -> None:
    """Every window is a new epoch: the boundary is there already."""


def test_a_rule_burst_across_the_hourly_epoch(tmp_path: Path) -> None:
    (tmp_path / "pay.log").write_text(_declines(0, 4))
    config = _config(tmp_path, "pay.log", "python", RULE)
    with _serve(tmp_path, config, every_window=True) as (port, _):
        _rule_burst(tmp_path, port, _nothing)


def test_a_brute_force_across_the_hourly_epoch(tmp_path: Path) -> None:
    (tmp_path / "auth.log").write_text(_failed(0, 15))
    config = _config(tmp_path, "auth.log", "syslog")
    with _serve(tmp_path, config, every_window=True) as (port, _):
        _brute_force(tmp_path, port, _nothing)


def test_a_rule_burst_across_a_reload(tmp_path: Path) -> None:
    (tmp_path / "pay.log").write_text(_declines(0, 4))
    config = _config(tmp_path, "pay.log", "python", RULE)
    with _serve(tmp_path, config, every_window=False) as (port, reload):
        _rule_burst(tmp_path, port, reload)


def test_a_brute_force_across_a_reload(tmp_path: Path) -> None:
    (tmp_path / "auth.log").write_text(_failed(0, 15))
    config = _config(tmp_path, "auth.log", "syslog")
    with _serve(tmp_path, config, every_window=False) as (port, reload):
        _brute_force(tmp_path, port, reload)


def _failing(first: int, last: int) -> str:
    return "".join(
        f'198.51.100.{i} - - [07/Dec/2026:05:00:{i:02d} +0000] "POST /api/checkout HTTP/1.1" '
        f'500 12 "-" "curl/8.5"\n'
        for i in range(first, last)
    )


BURST = "  http_5xx_burst: 10\n  http_5xx_window: 10m\n"


def test_a_5xx_burst_across_the_hourly_epoch(tmp_path: Path) -> None:
    """Six 500s on POST /api/checkout before the boundary and six after, ``http_5xx_burst: 10``
    within ten minutes: one ``http_5xx_burst`` of 12, as ``logs scan`` finds (it stored an
    ``http_5xx`` of 12: each epoch saw six)."""
    (tmp_path / "access.log").write_text(_failing(0, 6))
    config = _config(tmp_path, "access.log", "nginx", BURST)
    with _serve(tmp_path, config, every_window=True) as (port, _):
        _wait_counts(port, {"http_5xx": 6}, "six 500s, under the burst of 10")
        with (tmp_path / "access.log").open("a") as fh:
            fh.write(_failing(6, 12))
        assert _scanned(tmp_path, "access.log") == {"http_5xx_burst": 12}
        _wait_counts(port, {"http_5xx_burst": 12}, "the 5xx burst across the boundary")


def test_a_5xx_burst_across_two_windows_of_one_epoch(tmp_path: Path) -> None:
    """The same within one epoch: the endpoint's ``http_5xx`` row of the first window's six
    becomes the burst's (one row of 12, no ``http_5xx`` left beside it)."""
    (tmp_path / "access.log").write_text(_failing(0, 6))
    config = _config(tmp_path, "access.log", "nginx", BURST)
    with _serve(tmp_path, config, every_window=False) as (port, _):
        _wait_counts(port, {"http_5xx": 6}, "six 500s, under the burst of 10")
        with (tmp_path / "access.log").open("a") as fh:
            fh.write(_failing(6, 12))
        _wait_counts(port, {"http_5xx_burst": 12}, "the 5xx burst in the next window")


def _half_failing(first: int, last: int) -> str:
    return "".join(
        f'198.51.100.{i} - - [07/Dec/2026:05:00:{i:02d} +0000] "POST /api/checkout HTTP/1.1" '
        f'{500 if i % 2 else 200} 12 "-" "curl/8.5"\n'
        for i in range(first, last)
    )


def test_an_error_rate_across_the_hourly_epoch(tmp_path: Path) -> None:
    """Ten requests on POST /api/checkout before the boundary and ten after, half of them 500s
    (``error_rate_min_requests`` 20, no burst): one ``error_rate`` of 10, as ``logs scan``
    finds (serve stored an ``http_5xx`` of 10: each epoch saw ten requests)."""
    (tmp_path / "access.log").write_text(_half_failing(0, 10))
    config = _config(tmp_path, "access.log", "nginx", "  http_5xx_burst: 100\n")
    with _serve(tmp_path, config, every_window=True) as (port, _):
        _wait_counts(port, {"http_5xx": 5}, "five 500s of ten requests")
        with (tmp_path / "access.log").open("a") as fh:
            fh.write(_half_failing(10, 20))
        assert _scanned(tmp_path, "access.log") == {"error_rate": 10}
        _wait_counts(port, {"error_rate": 10}, "the error rate across the boundary")


def _request(ep: str, minute: int, status: int) -> str:
    return (
        f'198.51.100.7 - - [07/Dec/2026:05:{minute:02d}:00 +0000] "{ep} HTTP/1.1" '
        f'{status} 12 "-" "curl/8.5"\n'
    )


def test_an_error_rate_of_failures_further_apart_than_the_burst_window(tmp_path: Path) -> None:
    """An endpoint's error rate is over all its requests, in ``serve`` (what it followed) as in
    ``logs scan`` (the file), whatever the time between its 5xx: POST /api/checkout fails every
    other minute (ten requests before the boundary, ten after: 10 of 20), its 5xx further apart
    than ``http_5xx_window`` from the newest 5xx (GET /api/cart's, a minute later); GET
    /api/orders answers ten 200s before the boundary and fails twice in ten after (2 of 20).
    ``logs scan``: ``error_rate`` 10 + 2 and GET /api/cart's ``http_5xx`` 1; serve stored
    ``http_5xx`` 13 (it carried the requests of an endpoint only while it had a 5xx inside the
    window)."""
    before = "".join(
        _request("POST /api/checkout", i, 500 if i % 2 else 200)
        + _request("GET /api/orders", i, 200)
        for i in range(10)
    ) + _request("GET /api/cart", 11, 500)
    after = "".join(
        _request("POST /api/checkout", i, 500 if i % 2 else 200)
        + _request("GET /api/orders", i, 500 if i in (13, 17) else 200)
        for i in range(12, 22)
    )
    (tmp_path / "access.log").write_text(before)
    config = _config(tmp_path, "access.log", "nginx", "  http_5xx_burst: 100\n")
    with _serve(tmp_path, config, every_window=True) as (port, _):
        _wait_counts(port, {"http_5xx": 6}, "five 500s of ten requests, and one")
        with (tmp_path / "access.log").open("a") as fh:
            fh.write(after)
        assert _scanned(tmp_path, "access.log") == {"error_rate": 12, "http_5xx": 1}
        _wait_counts(port, {"error_rate": 12, "http_5xx": 1}, "the error rates across the boundary")


SLOW = "192.0.2.77"


def _sprayed_rounds(first: int, last: int) -> str:
    """Rounds of sshd's failed logins: the slow brute-forcer's one, then 150 addresses of one
    failure each (more than ``detector_keys: 100`` keeps: brute force lets the oldest go)."""
    out = []
    for r in range(first, last):
        lines = [(SLOW, 7000 + r)] + [(f"10.9.{r}.{i}", 8000 + i) for i in range(150)]
        for n, (ip, pid) in enumerate(lines):
            sec = (r * 151 + n) // 6
            out.append(
                f"Dec  7 03:{sec // 60:02d}:{sec % 60:02d} web1 sshd[{pid}]: "
                f"Failed password for root from {ip} port 22 ssh2\n"
            )
    return "".join(out)


def test_a_slow_brute_force_among_sprayed_addresses_across_the_hourly_epoch(
    tmp_path: Path,
) -> None:
    """Brute force remembers the addresses it let go (to keep a slow brute-forcer hidden among
    sprayed addresses from its second failure on); that memory started empty every epoch, so a
    brute-forcer let go just before the boundary was let go again after it, kept one failure
    later, and its ten failed logins within five minutes (``logs scan``: ``brute_force`` 10)
    made none in serve. Now the memory goes on with the window's sources: serve finds what
    ``logs scan`` finds."""
    (tmp_path / "auth.log").write_text(_sprayed_rounds(0, 1))
    config = _config(tmp_path, "auth.log", "syslog").read_text()
    config = config.replace("brute_force_failures: 20", "brute_force_failures: 10")
    (tmp_path / "shield.yaml").write_text(config + "  detector_keys: 100\n")
    with _serve(tmp_path, tmp_path / "shield.yaml", every_window=True) as (port, _):
        _wait_counts(port, {"auth_failure": 150}, "the first round (its last attempt waits)")
        with (tmp_path / "auth.log").open("a") as fh:
            fh.write(_sprayed_rounds(1, 11))
        scanned = _scanned(tmp_path, "auth.log")
        assert scanned.get("brute_force") == 10, scanned
        # (the API lists the worst 200 rows: the brute force, not every sprayed address's)
        _wait_counts(port, {"brute_force": 10}, "the slow brute force", only="brute_force")


def _failed_at(hhmmss: str, ip: str, pid: int) -> str:
    return f"Dec  7 {hhmmss} web1 sshd[{pid}]: Failed password for root from {ip} port {pid} ssh2\n"


def test_a_brute_force_that_fails_again_after_the_hourly_epoch(tmp_path: Path) -> None:
    """A brute force goes on while its address fails: ten failed logins from 203.0.113.91 make
    a ``brute_force``; ten minutes later (past ``brute_force_window`` of the file's newest
    failure, another address's) the hourly epoch comes, then the address fails once more.
    ``logs scan`` counts it in the brute force (11); serve had let the address go at the
    epoch and stored it as an ``auth_failure`` of 1 beside the ``brute_force`` of 10."""
    text = "".join(_failed_at(f"03:00:{i:02d}", IP, 5000 + i) for i in range(10))
    text += _failed_at("03:10:00", "198.51.100.4", 6000) + _failed_at(
        "03:10:01", "198.51.100.4", 6001
    )
    (tmp_path / "auth.log").write_text(text)
    config = _config(tmp_path, "auth.log", "syslog").read_text()
    (tmp_path / "shield.yaml").write_text(config.replace("failures: 20", "failures: 10"))
    with _serve(tmp_path, tmp_path / "shield.yaml", every_window=True) as (port, _):
        _wait_counts(port, {"brute_force": 10, "auth_failure": 2}, "the brute force, and two")
        with (tmp_path / "auth.log").open("a") as fh:
            fh.write(
                _failed_at("03:11:00", IP, 7000) + _failed_at("03:11:01", "198.51.100.5", 7001)
            )
        scanned = _scanned(tmp_path, "auth.log")
        assert scanned == {"brute_force": 11, "auth_failure": 3}, scanned
        _wait_counts(port, scanned, "the brute force's failed login after the epoch")


def _calls(ep: str, at: list[tuple[str, int]]) -> str:
    return "".join(
        f'198.51.100.8 - - [07/Dec/2026:{hhmmss} +0000] "{ep} HTTP/1.1" {status} 12 "-" "curl/8.5"\n'
        for hhmmss, status in at
    )


CHECKOUT, CART = "POST /api/checkout", "GET /api/cart"
SWINGS = [
    # two 500s of four requests: an http_5xx
    _calls(CHECKOUT, [(f"05:0{m}:00", 500 if m in (0, 2) else 200) for m in range(4)]),
    # five 500s within a minute: a burst; GET /api/cart's 500 two minutes later is the newest 5xx
    _calls(CHECKOUT, [(f"05:10:0{s}", 500) for s in range(5)]) + _calls(CART, [("05:12:00", 500)]),
    # a request a minute, every fourth a 500 (25 % of 20: a rate, were it not a burst already)
    _calls(CHECKOUT, [(f"05:{20 + m}:00", 500 if m % 4 == 0 else 200) for m in range(20)])
    + _calls(CART, [("05:41:00", 500)]),
    # a burst again
    _calls(CHECKOUT, [(f"05:50:0{s}", 500) for s in range(5)]),
]


def _swings(tmp_path: Path, *, every_window: bool) -> None:
    (tmp_path / "access.log").write_text("")
    config = _config(tmp_path, "access.log", "nginx", "  http_5xx_burst: 5\n")
    with _serve(tmp_path, config, every_window=every_window) as (port, _):
        for n, lines in enumerate(SWINGS, 1):
            with (tmp_path / "access.log").open("a") as fh:
                fh.write(lines)
            scanned = _scanned(tmp_path, "access.log")
            _wait_counts(port, scanned, f"step {n} of the endpoint's swings")
        assert scanned == {"http_5xx_burst": 17, "http_5xx": 2}


def test_an_endpoint_swinging_between_kinds_across_the_hourly_epoch(tmp_path: Path) -> None:
    """POST /api/checkout fails a little (``http_5xx``), in a burst, at a rate of 25 % and in a
    burst again, each step a new epoch: after each, serve's findings are ``logs scan``'s of the
    file so far (a burst is one ``http_5xx_burst`` that takes every later 5xx: the endpoint's
    rate after it is not an ``error_rate`` beside it). serve had let the burst go at the epoch
    once GET /api/cart's 500 was the newest 5xx, and stored ``error_rate`` 5 beside it."""
    _swings(tmp_path, every_window=True)


def test_an_endpoint_swinging_between_kinds_within_one_epoch(tmp_path: Path) -> None:
    """The same steps within one epoch: one row per endpoint, of the kind ``logs scan`` gives."""
    _swings(tmp_path, every_window=False)
