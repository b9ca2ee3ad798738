"""tcp, tls, dns, postgres, redis and heartbeat checks against real servers on loopback."""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from prodshield.monitor.heartbeats import ensure_heartbeat, find_by_token, record_ping
from prodshield.monitor.probe import Probe
from prodshield.monitor.result import CheckResult
from prodshield.monitor.run import run_target
from prodshield.store import Store
from support.certs import Pki
from support.monitor import (
    banner,
    closed_port,
    dns_server,
    garbage,
    never_answers,
    reset,
    target,
    tcp_server,
)


async def run(probe: Probe, **cfg: object) -> CheckResult:
    return await run_target(target(dict(cfg)), probe)


# --- tcp -------------------------------------------------------------------------------------------


async def test_tcp_banner_send_expect(probe: Probe) -> None:
    async with tcp_server(banner(b"SSH-2.0-test\r\n")) as port:
        plain = await run(probe, type="tcp", host="127.0.0.1", port=port)
        greeted = await run(
            probe,
            type="tcp",
            host="127.0.0.1",
            port=port,
            conditions=["[BODY] == pat(SSH-2.0-*)", "[CONNECTED] == true"],
        )
        expected = await run(
            probe, type="tcp", host="127.0.0.1", port=port, send="hello\\n", expect="ECHO hello"
        )
        wrong = await run(
            probe, type="tcp", host="127.0.0.1", port=port, expect="220 smtp", timeout="1s"
        )
    assert plain.ok and plain.timings["connect"] is not None
    assert greeted.ok, greeted.error
    assert expected.ok, expected.error
    assert not wrong.ok and wrong.error is not None and wrong.error.kind == "timeout"


async def test_tcp_failures(probe: Probe) -> None:
    refused = await run(probe, type="tcp", host="127.0.0.1", port=closed_port())
    assert refused.error is not None and refused.error.kind == "refused"
    # The port must be closed: a condition that expects it inverts the outcome.
    shut = await run(
        probe, type="tcp", host="127.0.0.1", port=closed_port(), conditions=["[CONNECTED] == false"]
    )
    assert shut.ok
    async with tcp_server(never_answers) as port:
        start = time.monotonic()
        silent = await run(probe, type="tcp", host="127.0.0.1", port=port, expect="x", timeout="1s")
        assert time.monotonic() - start < 2.0
    assert silent.error is not None and silent.error.kind == "timeout"
    async with tcp_server(reset) as port:
        cut = await run(probe, type="tcp", host="127.0.0.1", port=port, send="hi", expect="x")
    assert cut.error is not None and cut.error.kind == "reset"


# --- tls -------------------------------------------------------------------------------------------


async def test_tls_certificate_facts(probe: Probe, pki: Pki) -> None:
    cert, key = pki.issue("svc", hosts=("localhost", "127.0.0.1"), days=20)
    async with tcp_server(banner(b"")) as _unused, _tls_server(pki, cert, key) as port:
        r = await run(
            probe,
            type="tls",
            host="127.0.0.1",
            port=port,
            ca_file=str(pki.ca_file),
            conditions=[
                "[CERTIFICATE_EXPIRATION] > 14d",
                "[CERTIFICATE_EXPIRATION] < 21d",
                "[CERTIFICATE_ISSUER] == prodshield test CA",
                "[CERTIFICATE_SUBJECT] == svc",
                "[CERTIFICATE_HOSTNAME_MATCH] == true",
                "[CERTIFICATE_CHAIN_VALID] == true",
                "[TLS_VERSION] == pat(TLSv1.*)",
            ],
        )
    assert r.ok, r.error
    assert r.timings["tls"] is not None


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"expired": True}, "expired"), ({"self_signed": True}, "self")],
    ids=["expired", "self-signed"],
)
async def test_tls_bad_certificates(
    probe: Probe, pki: Pki, kwargs: dict[str, Any], word: str
) -> None:
    cert, key = pki.issue("bad", **kwargs)
    async with _tls_server(pki, cert, key) as port:
        r = await run(probe, type="tls", host="127.0.0.1", port=port, ca_file=str(pki.ca_file))
        facts = await run(
            probe,
            type="tls",
            host="127.0.0.1",
            port=port,
            verify_tls=False,
            conditions=["[CERTIFICATE_CHAIN_VALID] == false", "[CERTIFICATE_SUBJECT] == bad"],
        )
    assert r.error is not None and r.error.kind == "tls" and word in r.error.message.lower()
    assert facts.ok, facts.error


async def test_tls_hostname_mismatch_is_a_fact(probe: Probe, pki: Pki) -> None:
    cert, key = pki.issue("other", hosts=("other.example",))
    async with _tls_server(pki, cert, key) as port:
        r = await run(
            probe,
            type="tls",
            host="127.0.0.1",
            port=port,
            ca_file=str(pki.ca_file),
            verify_tls=False,
            conditions=["[CERTIFICATE_HOSTNAME_MATCH] == false"],
        )
    assert r.ok, r.error


async def test_tls_against_plain_tcp_fails_cleanly(probe: Probe) -> None:
    async with tcp_server(garbage) as port:
        r = await run(probe, type="tls", host="127.0.0.1", port=port, timeout="2s")
    assert r.error is not None and r.error.kind in ("tls", "reset")


def _tls_server(pki: Pki, cert: Path, key: Path) -> AbstractAsyncContextManager[int]:
    from support.monitor import http_server

    ctx = pki.server_context(cert, key)

    class _Port:
        def __init__(self) -> None:
            self.cm = http_server(ctx)

        async def __aenter__(self) -> int:
            base = await self.cm.__aenter__()
            return int(base.rsplit(":", 1)[1])

        async def __aexit__(self, *exc: object) -> None:
            await self.cm.__aexit__(None, None, None)

    return _Port()


# --- dns -------------------------------------------------------------------------------------------

RECORDS = {
    ("api.test", "A"): ["10.0.0.7", "10.0.0.8"],
    ("api.test", "TXT"): ['"v=spf1 -all"'],
    ("mail.test", "MX"): ["10 mx1.test."],
    ("www.test", "CNAME"): ["api.test."],
}


async def test_dns_answers_and_rcode(probe: Probe) -> None:
    async with dns_server(RECORDS) as port:
        resolver = f"127.0.0.1:{port}"
        a = await run(
            probe,
            type="dns",
            query="api.test",
            record="A",
            resolver=resolver,
            conditions=[
                "[DNS_RCODE] == NOERROR",
                "[BODY] == any(10.0.0.7, 10.0.0.8)",
                "len([ANSWERS]) == 2",
                "[ANSWERS] == pat(*10.0.0.8*)",
                "[ANSWERS][1] == pat(10.0.0.*)",
            ],
        )
        mx = await run(
            probe,
            type="dns",
            query="mail.test",
            record="MX",
            resolver=resolver,
            conditions=["[BODY] == mx1.test"],
        )
        txt = await run(
            probe,
            type="dns",
            query="api.test",
            record="TXT",
            resolver=resolver,
            conditions=["[BODY] == pat(v=spf1*)"],
        )
        cname = await run(
            probe,
            type="dns",
            query="www.test",
            record="CNAME",
            resolver=resolver,
            conditions=["[BODY] == api.test"],
        )
        nx = await run(probe, type="dns", query="nope.test", record="A", resolver=resolver)
        nx_expected = await run(
            probe,
            type="dns",
            query="nope.test",
            record="A",
            resolver=resolver,
            conditions=["[DNS_RCODE] == NXDOMAIN"],
        )
    assert a.ok, a.error
    assert mx.ok and txt.ok and cname.ok, (mx.error, txt.error, cname.error)
    assert nx.error is not None and nx.error.kind == "dns" and "NXDOMAIN" in nx.error.message
    assert nx_expected.ok


async def test_dns_silent_and_garbage_resolvers(probe: Probe) -> None:
    async with dns_server(RECORDS, mode="silent") as port:
        start = time.monotonic()
        silent = await run(
            probe, type="dns", query="api.test", resolver=f"127.0.0.1:{port}", timeout="1s"
        )
        assert time.monotonic() - start < 2.0
    async with dns_server(RECORDS, mode="garbage") as port:
        junk = await run(
            probe, type="dns", query="api.test", resolver=f"127.0.0.1:{port}", timeout="1s"
        )
    assert silent.error is not None and silent.error.kind == "timeout"
    assert junk.error is not None and junk.error.kind in ("protocol", "timeout")


# --- postgres --------------------------------------------------------------------------------------


async def test_postgres(probe: Probe, pg_url: str) -> None:
    dsn = pg_url.split("?")[0]
    ok = await run(
        probe,
        type="postgres",
        dsn=dsn,
        query="SELECT 41 + 1",
        conditions=["[RESULT] == 42", "[CONNECTED] == true", "[RESPONSE_TIME] < 5s"],
    )
    bad_sql = await run(probe, type="postgres", dsn=dsn, query="SELEC nonsense")
    refused = await run(
        probe,
        type="postgres",
        dsn=f"postgresql://postgres@127.0.0.1:{closed_port()}/test",
        timeout="3s",
    )
    assert ok.ok, ok.error
    assert ok.timings["connect"] is not None
    assert bad_sql.error is not None and bad_sql.error.kind == "protocol"
    assert refused.error is not None and refused.error.kind == "refused"


async def test_postgres_never_answers(probe: Probe) -> None:
    async with tcp_server(never_answers) as port:
        start = time.monotonic()
        r = await run(
            probe, type="postgres", dsn=f"postgresql://postgres@127.0.0.1:{port}/test", timeout="1s"
        )
        assert time.monotonic() - start < 2.5
    assert r.error is not None and r.error.kind == "timeout"


# --- redis -----------------------------------------------------------------------------------------


async def test_redis(probe: Probe, redis_addr: tuple[str, int]) -> None:
    host, port = redis_addr
    ok = await run(
        probe,
        type="redis",
        url=f"redis://{host}:{port}/0",
        conditions=["[RESULT] == PONG", "[ROLE] == master"],
    )
    wrong_role = await run(probe, type="redis", url=f"redis://{host}:{port}/0", role="replica")
    assert ok.ok, ok.error
    assert wrong_role.error is not None and wrong_role.error.kind == "condition"


async def test_redis_failures(probe: Probe) -> None:
    refused = await run(probe, type="redis", url=f"redis://127.0.0.1:{closed_port()}/0")
    assert refused.error is not None and refused.error.kind == "refused"
    async with tcp_server(garbage) as port:
        junk = await run(probe, type="redis", url=f"redis://127.0.0.1:{port}/0", timeout="2s")
    assert junk.error is not None and junk.error.kind == "protocol"
    async with tcp_server(never_answers) as port:
        silent = await run(probe, type="redis", url=f"redis://127.0.0.1:{port}/0", timeout="1s")
    assert silent.error is not None and silent.error.kind == "timeout"


# --- heartbeat -------------------------------------------------------------------------------------


async def test_heartbeat(store: Store) -> None:
    async with Probe(store) as probe:
        t = target({"name": "backup", "type": "heartbeat", "period": "1h", "grace": "10m"})
        fresh = await run_target(t, probe)  # never pinged, but just created: not late yet
        beat = ensure_heartbeat(store, "backup")
        assert find_by_token(store, beat.token) is not None
        record_ping(store, "backup", now=time.time() - 2 * 3600)  # the last ping was 2 h ago
        late = await run_target(t, probe)
        record_ping(store, "backup")
        on_time = await run_target(t, probe)
    assert fresh.ok
    assert late.error is not None and late.error.kind == "timeout"
    assert "last ping 2h" in late.error.message
    assert on_time.ok
    assert ensure_heartbeat(store, "backup").pings == 2
