"""Unpaired surrogate escapes (``"\\ud800"``): valid JSON that no UTF-8 encoder takes. From an API
client, a chaos API client or a JSON log line they used to give 500s and tracebacks, poison every
later read of what they were stored in, or make serve skip the log line (a critical line hidden
by one field). `text.loads_json` / `text.surrogates_out` turn them into U+FFFD.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.chaos_proxy import ProxyThread
from support.cli import prodshield
from support.serve_process import TOKEN, raw_http, serve, wait_for

CONFIG = f"""
storage: "sqlite:///{{db}}"
checks:
  - {{name: web, type: tcp, host: 127.0.0.1, port: 9, interval: 1h}}
serve: {{host: 127.0.0.1, port: {{port}}, token: "{TOKEN}"}}
"""

AUTH = f"Authorization: Bearer {TOKEN}\r\n"


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


LONE_SURROGATE = b'"\\ud800 x \\uDC00"'
"""A JSON string with unpaired surrogate escapes: valid JSON, but no UTF-8 encoder takes it."""


def _post_json(port: int, path: str, body: bytes) -> bytes:
    return raw_http(
        port,
        (
            f"POST {path} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        + body,
    )


def test_unpaired_surrogates_in_api_json_neither_fail_nor_poison_later_reads(
    tmp_path: Path,
) -> None:
    """Before the fix a note of ``"\\ud800"`` was stored and answered 500 with a traceback, and
    from then on `GET /api/v1/incidents` answered 500 to everyone; an update, a deploy marker and
    a manual incident with one answered 500 (the store could not encode it)."""
    s = LONE_SURROGATE
    with serve(tmp_path, CONFIG) as srv:
        opened = _post_json(
            srv.port,
            "/api/v1/incidents",
            b'{"title": ' + s + b', "service": "web", "text": ' + s + b"}",
        )
        assert _status(opened) == 201, opened[:400]
        incident = int(opened.split(b'"id":', 1)[1].split(b",", 1)[0])
        for path, body in [
            (f"/api/v1/incidents/{incident}/notes", b'{"text": ' + s + b"}"),
            (f"/api/v1/incidents/{incident}/updates", b'{"text": ' + s + b"}"),
            ("/api/v1/deploys", b'{"version": ' + s + b', "service": "web"}'),
        ]:
            answer = _post_json(srv.port, path, body)
            assert _status(answer) in (200, 201), (path, answer[:400])
            assert "\ufffd x \ufffd".encode() in answer, (path, answer[:400])
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for path in ("/api/v1/incidents", f"/api/v1/incidents/{incident}", "/api/v1/deploys"):
            read = srv.get(path, headers=auth)
            assert read.status == 200, (path, read.body[:300])
        assert srv.get("/").status == 200
        assert srv.get("/status/feed.atom").status == 200
        log = srv.output()
        assert "Traceback" not in log, log[-3000:]


def test_a_chaos_proxy_named_with_an_unpaired_surrogate_leaves_its_metrics_readable() -> None:
    """At first such a proxy was created (201) and the API's `/metrics` answered 500 from then on;
    then it was created and stayed readable; since proxy names are letters, digits, `-`, `_` and
    `.` (f7ee2d2) it is refused with the JSON error, and `/metrics` and the listing stay readable.
    A toxic's name, held to the same rule since, is refused the same way, and a toxic's string
    attribute with the surrogate keeps `/metrics` and the listing readable."""
    proxy = ProxyThread()
    try:
        status, _, body = proxy.request(
            "POST",
            "/proxies",
            b'{"name": '
            + LONE_SURROGATE
            + b', "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"}',
        )
        assert status == 400, body[:300]
        answer = json.loads(body)
        assert answer["status"] == 400 and "invalid proxy name" in answer["error"], answer
        status, _, metrics = proxy.request("GET", "/metrics")
        assert status == 200, metrics[:300]
        status, _, listing = proxy.request("GET", "/proxies")
        assert status == 200 and json.loads(listing) == {}, listing[:300]

        status, _, body = proxy.request(
            "POST",
            "/proxies",
            b'{"name": "web", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"}',
        )
        assert status == 201, body[:300]
        status, _, body = proxy.request(
            "POST",
            "/proxies/web/toxics",
            b'{"name": ' + LONE_SURROGATE + b', "type": "latency", "attributes": {"latency": 10}}',
        )
        assert status == 400, body[:300]
        answer = json.loads(body)
        assert answer["status"] == 400 and "invalid toxic name" in answer["error"], answer
        status, _, body = proxy.request(
            "POST",
            "/proxies/web/toxics",
            b'{"type": "http_status", "attributes": {"path": ' + LONE_SURROGATE + b"}}",
        )
        assert status == 200, body[:300]
        status, _, metrics = proxy.request("GET", "/metrics")
        assert status == 200, metrics[:300]
        status, _, listing = proxy.request("GET", "/proxies/web/toxics")
        assert status == 200 and b"\\ufffd x \\ufffd" in listing, listing[:300]
    finally:
        proxy.close()


JSON_LOG = (
    '{"ts":"2026-12-06T10:00:00Z","level":"error",'
    '"msg":"could not connect to database \\ud800 connection refused"}\n'
    '{"ts":"2026-12-06T10:00:01Z","level":"error","msg":"FATAL: out of memory \\udfff"}\n'
)
"""Two critical JSON log lines whose messages hold a lone surrogate escape (an attacker-chosen
field, e.g. a user name, is enough)."""


def test_logs_scan_reads_json_lines_with_unpaired_surrogates(tmp_path: Path) -> None:
    """Before the fix: `internal error: UnicodeEncodeError`, exit 1, no findings."""
    (tmp_path / "app.jsonl").write_text(JSON_LOG)
    done = prodshield(
        tmp_path, "logs", "scan", "app.jsonl", "--log-format", "json", "--format", "json"
    )
    assert "internal error" not in done.stderr, done.stderr
    kinds = {f["kind"] for f in json.loads(done.stdout)["findings"]}
    assert {"db_connection_failure", "out_of_memory"} <= kinds, done.stdout[:500]


def test_serve_keeps_a_json_log_line_with_an_unpaired_surrogate(tmp_path: Path) -> None:
    """Before the fix serve's follower skipped both lines ("a line ... skipped
    (UnicodeEncodeError ...)"): a hostile field hid a database outage from the findings."""
    log = tmp_path / "app.jsonl"
    log.write_text(JSON_LOG)
    config = CONFIG + f"logs:\n  sources:\n    - {{name: app, path: {log}, format: json}}\n"
    with serve(tmp_path, config) as srv:
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def found() -> set[str]:
            return {f["kind"] for f in srv.get("/api/v1/findings", headers=auth).json()["logs"]}

        wait_for("the findings", lambda: {"db_connection_failure", "out_of_memory"} <= found())
        assert "skipped" not in srv.output(), srv.output()[-2000:]
