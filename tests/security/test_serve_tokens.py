"""Tokens and sessions of `serve` against hostile HTTP clients: throttled on every authenticated
surface, a token change on SIGHUP takes effect, logout revokes, a trusted proxy's forwarded address
and scheme are honoured (and nobody else's), malformed cookies and CSRF tokens are refused cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from support.cli import prodshield
from support.serve_process import TOKEN, login, raw_http, serve, session_of, wait_for

CONFIG = f"""
storage: "sqlite:///{{db}}"
checks:
  - {{name: beat, type: heartbeat, period: 1h}}
serve: {{host: 127.0.0.1, port: {{port}}, token: "{TOKEN}"%s}}
"""


def _config(extra: str = "") -> str:
    return CONFIG % extra


def _bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def test_the_bearer_api_and_heartbeats_are_throttled(tmp_path: Path) -> None:
    with serve(tmp_path, _config()) as srv:
        statuses = [
            srv.get("/api/v1/checks", headers=_bearer(f"wrong-token-{i:04d}-xxxxxxxx")).status
            for i in range(12)
        ]
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]
        # while throttled, even the right token from this client waits
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 429
    (tmp_path / "hb").mkdir()
    with serve(tmp_path / "hb", _config()) as srv:
        statuses = [srv.get(f"/heartbeat/hb_{i:030d}").status for i in range(12)]
        assert statuses[:10] == [404] * 10
        assert statuses[10:] == [429, 429]
        # a job's right ping from the same address is answered 429 too (guessing learns nothing)
        # but recorded: the heartbeat does not go late because of a neighbour's wrong pings
        listed = subprocess.run(
            [sys.executable, "-m", "prodshield", "monitor", "heartbeats", "-c", str(srv.config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        url = next(w for w in listed.stdout.split() if "/heartbeat/" in w)
        right = url.rsplit("/heartbeat/", 1)[1]
        assert srv.get(f"/heartbeat/{right}").status == 429
        assert srv.count("SELECT pings FROM heartbeats WHERE token = ?", right) == 1


def test_heartbeat_and_api_guesses_are_throttled_apart(tmp_path: Path) -> None:
    """A cron job pinging a stale heartbeat URL must not lock its host out of the API (nor an
    API client with a wrong token stop the host's jobs from being answered): two buckets, each
    still throttled at ten wrong tokens a minute."""
    with serve(tmp_path, _config()) as srv:
        pings = [srv.get(f"/heartbeat/stale_{i:030d}").status for i in range(11)]
        assert pings == [404] * 10 + [429]
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 200
        wrong = [
            srv.get("/api/v1/checks", headers=_bearer(f"wrong-token-{i:04d}-xxxxxxxx")).status
            for i in range(9)
        ]
        assert wrong == [401] * 9  # the ten stale pings did not count here
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 200
        assert srv.get("/api/v1/checks", headers=_bearer("wrong-token-9999-xxxxxxxx")).status == 401
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 429
        assert srv.get(f"/heartbeat/stale_{99:030d}").status == 429  # its own bucket, still full
    (tmp_path / "api-first").mkdir()
    with serve(tmp_path / "api-first", _config()) as srv:
        for i in range(10):
            srv.get("/api/v1/checks", headers=_bearer(f"wrong-token-{i:04d}-xxxxxxxx"))
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 429
        assert srv.get(f"/heartbeat/stale_{0:030d}").status == 404  # not 429: a bucket apart


def test_a_token_changed_by_sighup_takes_effect(tmp_path: Path) -> None:
    new = "a-brand-new-token-0123456789"
    with serve(tmp_path, _config()) as srv:
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 200
        status, cookies = login(srv, TOKEN)
        assert status == 303
        session = session_of(cookies)
        srv.config.write_text(srv.config.read_text().replace(TOKEN, new))
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(
            "the new token", lambda: srv.get("/api/v1/checks", headers=_bearer(new)).status == 200
        )
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 401
        # sessions signed under the old token are gone too
        assert (
            srv.get("/api/v1/checks", headers={"Cookie": f"prodshield_session={session}"}).status
            == 401
        )
        # a token removed from the config cannot silently become "no token": the running one stays
        srv.config.write_text(srv.config.read_text().replace(f', token: "{new}"', ""))
        srv.proc.send_signal(signal.SIGHUP)
        wait_for("the second reload", lambda: srv.output().count("reloaded") == 2)
        assert srv.get("/api/v1/checks", headers=_bearer(new)).status == 200
    out = srv.output()
    assert "warning: serve.token changed: the previous token and its sessions no longer work" in out
    assert "warning: serve.token removed from the config: the running token stays" in out
    assert new not in out and TOKEN not in out


def test_a_named_users_token_changed_or_removed_by_sighup_ends_its_sessions(
    tmp_path: Path,
) -> None:
    alice, renewed = "alice-token-0123456789abcdef", "alice-renewed-0123456789abcdef"
    with serve(tmp_path, _config(f", users: {{alice: {alice}}}")) as srv:
        status, cookies = login(srv, alice)
        assert status == 303
        cookie = {"Cookie": f"prodshield_session={session_of(cookies)}"}
        assert srv.get("/api/v1/checks", headers=cookie).status == 200
        srv.config.write_text(srv.config.read_text().replace(alice, renewed))
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(
            "alice's new token",
            lambda: srv.get("/api/v1/checks", headers=_bearer(renewed)).status == 200,
        )
        assert srv.get("/api/v1/checks", headers=_bearer(alice)).status == 401
        assert srv.get("/api/v1/checks", headers=cookie).status == 401
        _, cookies = login(srv, renewed)
        cookie = {"Cookie": f"prodshield_session={session_of(cookies)}"}
        assert srv.get("/api/v1/checks", headers=cookie).status == 200
        # alice leaves: her session ends with her token
        srv.config.write_text(srv.config.read_text().replace(f", users: {{alice: {renewed}}}", ""))
        srv.proc.send_signal(signal.SIGHUP)
        wait_for("the reload", lambda: srv.output().count("reloaded") == 2)
        assert srv.get("/api/v1/checks", headers=cookie).status == 401
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 200
    assert (
        "warning: serve.users: the old tokens and sessions of alice no longer work" in srv.output()
    )


def test_logout_revokes_the_session(tmp_path: Path, pg_url: str) -> None:
    # two instances share a store: PostgreSQL (one process at a time runs on a SQLite store)
    config = _config().replace('"sqlite:///{db}"', f'"{pg_url}"')
    with (
        serve(tmp_path / "a", config) as srv,
        serve(tmp_path / "b", config) as other,
    ):
        status, cookies = login(srv, TOKEN)
        assert status == 303
        session = session_of(cookies)
        cookie = {"Cookie": f"prodshield_session={session}"}
        assert srv.get("/api/v1/checks", headers=cookie).status == 200
        page = srv.get("/dashboard", headers=cookie).body.decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        out = srv.get(
            "/logout",
            method="POST",
            headers={**cookie, "Content-Type": "application/x-www-form-urlencoded"},
            data=urllib.parse.urlencode({"csrf": csrf.group(1)}).encode(),
        )
        assert out.status == 303
        # the browser dropped the cookie; whoever copied it cannot use it any more
        assert srv.get("/api/v1/checks", headers=cookie).status == 401
        assert srv.get("/dashboard", headers=cookie).status == 303
        # another instance on the same store refuses it within seconds
        wait_for(
            "the other instance to learn of the logout",
            lambda: other.get("/api/v1/checks", headers=cookie).status == 401,
            timeout=30,
        )
    with serve(tmp_path / "c", config) as restarted:
        assert restarted.get("/api/v1/checks", headers=cookie).status == 401  # and after a restart
        _, fresh = login(restarted, TOKEN)
        again = {"Cookie": f"prodshield_session={session_of(fresh)}"}
        assert restarted.get("/api/v1/checks", headers=again).status == 200


def test_forwarded_headers_count_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    with serve(tmp_path, _config(', trusted_proxies: ["127.0.0.1/32"]')) as srv:
        # the proxy says the browser used HTTPS: the session cookie is Secure
        status, cookies = login(srv, TOKEN, **{"X-Forwarded-Proto": "https"})
        assert status == 303
        assert any(c.startswith("prodshield_session=") and "secure" in c.lower() for c in cookies)
        # the throttle keys on the client the proxy names, not on the proxy
        for i in range(10):
            srv.get(
                "/api/v1/checks",
                headers=_bearer(
                    f"wrong-{i:02d}-aaaaaaaaaaaaaa", **{"X-Forwarded-For": "203.0.113.9"}
                ),
            )
        throttled = srv.get(
            "/api/v1/checks",
            headers=_bearer("wrong-aaaaaaaaaaaaaaa", **{"X-Forwarded-For": "203.0.113.9"}),
        )
        assert throttled.status == 429
        other = srv.get(
            "/api/v1/checks", headers=_bearer(TOKEN, **{"X-Forwarded-For": "198.51.100.7"})
        )
        assert other.status == 200
    (tmp_path / "b").mkdir()
    with serve(tmp_path / "b", _config()) as srv:
        # without trusted proxies, X-Forwarded-* from a client change nothing
        status, cookies = login(srv, TOKEN, **{"X-Forwarded-Proto": "https"})
        assert not any("secure" in c.lower() for c in cookies)
        for i in range(10):
            srv.get(
                "/api/v1/checks",
                headers=_bearer(
                    f"wrong-{i:02d}-aaaaaaaaaaaaaa", **{"X-Forwarded-For": f"203.0.113.{i}"}
                ),
            )
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 429


def test_non_ascii_cookies_and_csrf_tokens_are_refused_not_crashed(tmp_path: Path) -> None:
    with serve(tmp_path, _config()) as srv:
        status, cookies = login(srv, TOKEN)
        session = session_of(cookies)
        issued, nonce, _ = session.split(".")
        cases = [
            b"GET /api/v1/checks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Cookie: prodshield_session="
            + f"{issued}.{nonce}.".encode()
            + "é".encode() * 32
            + b"\r\n\r\n",
            b"GET /dashboard HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Cookie: prodshield_session=\xff\xfe.\xc3\xa9.\xc3\xa9\r\n\r\n",
            b"POST /api/v1/incidents/1/ack HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: 0\r\nX-CSRF-Token: \xc3\xa9\xc3\xa9\r\n"
            b"Cookie: prodshield_session=" + session.encode() + b"\r\n\r\n",
            b"POST /logout HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n"
            b"Cookie: prodshield_session=" + session.encode() + b"\r\n\r\ncsrf=%C3%A9",
        ]
        for request in cases:
            answer = raw_http(srv.port, request)
            status = int(answer.split(b" ", 2)[1])
            assert status in (303, 400, 401, 403), answer[:300]
        time.sleep(0.5)
    assert "Traceback" not in srv.output()


def test_wrong_tokens_from_one_ipv6_64_count_together(tmp_path: Path) -> None:
    """An IPv6 host is commonly given a whole /64: before the fix each address had its own ten
    guesses a minute (connections already counted per /64), so an attacker rotating through
    addresses guessed without limit. The forwarded address of a trusted proxy shows it on
    loopback."""
    with serve(tmp_path, _config(', trusted_proxies: ["127.0.0.1/32"]')) as srv:

        def guess(i: int, address: str) -> int:
            headers = _bearer(f"wrong-{i:04d}-aaaaaaaaaaaaaa", **{"X-Forwarded-For": address})
            return srv.get("/api/v1/checks", headers=headers).status

        statuses = [guess(i, f"2001:db8:7:9::{i + 1:x}") for i in range(12)]
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429], statuses
        # the login form is the same bucket
        status, _ = login(srv, TOKEN, **{"X-Forwarded-For": "2001:db8:7:9:abcd::1"})
        assert status == 429
        # another /64 is another client
        other = _bearer(TOKEN, **{"X-Forwarded-For": "2001:db8:7:a::1"})
        assert srv.get("/api/v1/checks", headers=other).status == 200


def test_a_token_of_the_wrong_type_is_never_echoed(tmp_path: Path) -> None:
    """An unquoted numeric token is a YAML number: before the fix the type error quoted it whole
    (`serve.token: must be a string, got 12345678901234567890123`) in `config check` and in
    serve's log when a SIGHUP reload refused it; other secrets (a user's token, a password) too."""
    numeric = "98765432109876543210123"
    bad = _config().replace(f'token: "{TOKEN}"', f"token: {numeric}")
    assert bad != _config()
    config = tmp_path / "bad.yaml"
    config.write_text(
        bad.replace("{db}", str(tmp_path / "x.db")).replace("{port}", "0")
        + f"notifiers:\n  m: {{type: email, host: h, from: a@b.c, to: [x@y.z], password: 1{numeric}}}\n"
    )
    done = prodshield(tmp_path, "config", "check", "-c", str(config))
    assert done.returncode == 2, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "serve.token: must be a string, got a number (not shown: a secret)" in out, out
    assert "notifiers.m.password: must be a string, got a number" in out, out
    assert numeric not in out
    with serve(tmp_path / "s", _config()) as srv:
        srv.config.write_text(
            srv.config.read_text().replace(f'token: "{TOKEN}"', f"token: {numeric}")
        )
        srv.proc.send_signal(signal.SIGHUP)
        wait_for("the refused reload", lambda: "serve.token" in srv.output())
        assert srv.get("/api/v1/checks", headers=_bearer(TOKEN)).status == 200
    assert numeric not in srv.output(), srv.output()
