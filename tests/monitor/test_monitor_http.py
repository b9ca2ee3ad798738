"""The http check against real HTTP and HTTPS servers on loopback, well- and mis-behaving."""

from __future__ import annotations

import time
from typing import Any

import pytest

from prodshield.monitor.probe import Probe
from prodshield.monitor.result import CheckResult
from prodshield.monitor.run import run_target
from support.certs import Pki
from support.monitor import (
    closed_port,
    garbage,
    http_server,
    never_answers,
    reset,
    target,
    tcp_server,
    trickle,
)


async def check(probe: Probe, **cfg: object) -> CheckResult:
    return await run_target(target({"type": "http", **cfg}), probe)


async def test_ok_with_conditions_and_timings(probe: Probe) -> None:
    async with http_server() as base:
        r = await check(
            probe,
            url=f"{base}/ok",
            conditions=[
                "[STATUS] == 200",
                "[BODY].status == UP",
                "[BODY].items[1].id == 8",
                "len([BODY].items) == 2",
                "has([BODY].errors) == false",
                "[HEADER].x-service == api",
                "[HEADER].Content-Type == pat(application/json*)",
                "[RESPONSE_TIME] < 5s",
                "[IP] == 127.0.0.1",
                "[CONNECTED] == true",
            ],
        )
    assert r.ok, r.error
    assert [c.ok for c in r.conditions] == [True] * 10
    assert r.conditions[1].actual == "UP"
    assert r.timings["dns"] is None  # an IP address needs no lookup
    assert r.timings["connect"] is not None and r.timings["connect"] >= 0
    assert r.timings["tls"] is None
    assert r.timings["first_byte"] is not None
    assert r.timings["total"] is not None and r.timings["total"] >= r.timings["first_byte"]
    assert r.response_time_ms == r.timings["total"]


async def test_failed_condition_says_what_was_wrong(probe: Probe) -> None:
    async with http_server() as base:
        r = await check(probe, url=f"{base}/status/503", conditions=["[STATUS] == 200"])
    assert not r.ok
    assert r.error is not None and r.error.kind == "condition"
    assert r.error.message == "[STATUS] (503) == 200"
    assert r.conditions[0].actual == "503"


async def test_default_condition_fails_on_server_error(probe: Probe) -> None:
    async with http_server() as base:
        good = await check(probe, url=f"{base}/ok")
        bad = await check(probe, url=f"{base}/status/500")
    assert good.ok
    assert not bad.ok and bad.error is not None and bad.error.kind == "condition"


async def test_method_body_and_user_agent(probe: Probe) -> None:
    async with http_server() as base:
        r = await check(
            probe,
            url=f"{base}/echo",
            method="POST",
            body='{"ping": 1}',
            conditions=[
                "[BODY].method == POST",
                '[BODY].body == {"ping": 1}',
                "[BODY].agent == pat(prodshield/*)",
            ],
        )
    assert r.ok, [c.describe() for c in r.conditions]


async def test_redirect_followed_or_not(probe: Probe) -> None:
    async with http_server() as base:
        followed = await check(probe, url=f"{base}/redirect", conditions=["[STATUS] == 200"])
        kept = await check(
            probe, url=f"{base}/redirect", follow_redirects=False, conditions=["[STATUS] == 302"]
        )
    assert followed.ok and kept.ok


async def test_https_with_test_ca(probe: Probe, pki: Pki) -> None:
    cert, key = pki.issue("good", days=40)
    async with http_server(pki.server_context(cert, key)) as base:
        r = await check(
            probe,
            url=f"{base}/ok",
            ca_file=str(pki.ca_file),
            conditions=[
                "[STATUS] == 200",
                "[CERTIFICATE_EXPIRATION] > 30d",
                "[CERTIFICATE_EXPIRATION] < 41d",
                "[CERTIFICATE_ISSUER] == prodshield test CA",
            ],
        )
    assert r.ok, r.error
    assert r.timings["tls"] is not None and r.timings["tls"] > 0
    assert r.timings["connect"] is not None


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"expired": True}, "expired"), ({"self_signed": True}, "self")],
    ids=["expired", "self-signed"],
)
async def test_bad_certificates_are_tls_errors(
    probe: Probe, pki: Pki, kwargs: dict[str, Any], words: str
) -> None:
    cert, key = pki.issue("bad", **kwargs)
    async with http_server(pki.server_context(cert, key)) as base:
        r = await check(probe, url=f"{base}/ok", ca_file=str(pki.ca_file), timeout="3s")
        lenient = await check(probe, url=f"{base}/ok", verify_tls=False, timeout="3s")
    assert not r.ok and r.error is not None
    assert r.error.kind == "tls"
    assert words in r.error.message.lower()
    assert lenient.ok


async def test_refused(probe: Probe) -> None:
    r = await check(probe, url=f"http://127.0.0.1:{closed_port()}/", timeout="3s")
    assert r.error is not None and r.error.kind == "refused"


async def test_unresolvable_host_is_dns(probe: Probe) -> None:
    r = await check(probe, url="http://does-not-exist.invalid/", timeout="3s")
    assert r.error is not None and r.error.kind == "dns"


@pytest.mark.parametrize(
    ("handler", "kind"),
    [(never_answers, "timeout"), (trickle, "timeout"), (garbage, "protocol"), (reset, "reset")],
    ids=["never-answers", "one-byte-a-second", "garbage", "reset"],
)
async def test_misbehaving_servers(probe: Probe, handler: object, kind: str) -> None:
    async with tcp_server(handler) as port:  # type: ignore[arg-type]
        start = time.monotonic()
        r = await check(probe, url=f"http://127.0.0.1:{port}/", timeout="1.5s")
        took = time.monotonic() - start
    assert not r.ok and r.error is not None
    assert r.error.kind == kind, r.error
    assert took < 1.5 + 1.0  # within its timeout (plus a generous margin), never stuck


async def test_redirect_loop_is_protocol(probe: Probe) -> None:
    async with http_server() as base:
        r = await check(probe, url=f"{base}/loop", timeout="3s")
    assert r.error is not None and r.error.kind == "protocol"
    assert "redirect" in r.error.message


async def test_huge_body_is_cut_not_read_whole(probe: Probe) -> None:
    async with http_server() as base:
        start = time.monotonic()
        r = await check(
            probe, url=f"{base}/big", max_body="256KiB", conditions=["len([BODY]) == 262144"]
        )
        took = time.monotonic() - start
    assert r.error is not None and r.error.kind == "protocol"
    assert "max_body" in r.error.message
    assert r.details["body_truncated_at"] == 256 * 1024
    assert r.conditions[0].ok  # the body was cut exactly at max_body
    assert took < 3.0


async def test_a_body_nobody_reads_is_not_read(probe: Probe) -> None:
    """Only [STATUS] is asked: the check stops at the headers, so a body far over max_body
    neither fails it nor gets downloaded; the same endpoint fails once a condition needs it."""
    async with http_server() as base:
        start = time.monotonic()
        r = await check(probe, url=f"{base}/big", max_body="16KiB", conditions=["[STATUS] == 200"])
        took = time.monotonic() - start
        assert r.ok, r.error
        assert "body_truncated_at" not in r.details and took < 3.0
        default = await check(probe, url=f"{base}/big", max_body="16KiB")  # [STATUS] < 400
        assert default.ok, default.error
        needs = await check(
            probe, url=f"{base}/big", max_body="16KiB", conditions=["[BODY] != nothing"]
        )
    assert needs.error is not None and needs.error.kind == "protocol"
    assert "max_body" in needs.error.message


async def test_hostname_lookup_is_timed(probe: Probe) -> None:
    async with http_server() as base:
        port = base.rsplit(":", 1)[1]
        r = await check(
            probe, url=f"http://localhost:{port}/ok", ip_version=4, conditions=["[IP] == 127.0.0.1"]
        )
    assert r.ok, r.error
    assert r.timings["dns"] is not None


async def test_client_certificate(probe: Probe, pki: Pki) -> None:
    import ssl

    cert, key = pki.issue("server")
    client_cert, client_key = pki.issue("client")
    ctx = pki.server_context(cert, key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(pki.ca_file)
    async with http_server(ctx) as base:
        with_cert = await check(
            probe,
            url=f"{base}/ok",
            ca_file=str(pki.ca_file),
            client_cert=str(client_cert),
            client_key=str(client_key),
            timeout="3s",
        )
        without = await check(probe, url=f"{base}/ok", ca_file=str(pki.ca_file), timeout="3s")
    assert with_cert.ok, with_cert.error
    assert not without.ok and without.error is not None
    assert without.error.kind in ("tls", "reset")
