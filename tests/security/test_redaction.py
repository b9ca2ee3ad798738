"""Secrets from log lines and targets never leave prodshield whole (issue 18, findings 2 and 4).

Before the fix only samples were redacted: a finding's message and template carried
``password=...`` to the store, the API and notifiers, and samples missed JSON passwords, ``redis://
:pw@``, cookies and an AWS secret key next to its id; a check URL's password appeared as "Target:".
Each test runs the path a user runs (the CLI, the outbox and a real webhook receiver).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from aiohttp import web

from prodshield.config.notifiers import WebhookNotifierConfig
from prodshield.notify import Event, deliver, enqueue
from prodshield.notify.outbox import enqueue_in
from prodshield.secrets.redaction import redact_many, redact_params, redact_text
from prodshield.store import Store
from support.standins.loopback_app import serve_app

SECRETS = {
    "json": "Tr0ub4dor-3xyzQ",
    "redis": "hunter2pw",
    "cookie": "8f14e45fceea167a5a36dedd4bea2543",
    "set_cookie": "c0ffee1234deadbeef99",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig123abc",
    "basic": "YWRtaW46czNjcjN0UGFzcw==",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vLk2Tq9",
    "password": "Sup3rS3cret!x",
    "url": "S3cr3tPass",
    "stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
}
LINES = [
    f'login failed {{"user": "bob", "password": "{SECRETS["json"]}"}}',
    f"cannot connect to redis://:{SECRETS['redis']}@cache:6379/0: connection refused",
    f"GET /cart Cookie: session={SECRETS['cookie']}; theme=dark",
    f"upstream answered Set-Cookie: sid={SECRETS['set_cookie']}; Path=/; HttpOnly",
    f"request headers Authorization: Bearer {SECRETS['bearer']}",
    f"proxy sent authorization=Basic {SECRETS['basic']}",
    f"boto: using AKIAZ7QHJ4MNB2XRT5PL {SECRETS['aws_secret']}",
    f"database down: FATAL password authentication failed, dsn password={SECRETS['password']}",
    f"health probe http://admin:{SECRETS['url']}@10.0.0.7/health failed",
    f"charge failed for {SECRETS['stripe']}",
]


def leaked(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def test_redact_text_masks_every_shape() -> None:
    for line in LINES:
        assert leaked(redact_text(line)) == [], line
    # What is not a credential stays readable.
    plain = "Failed password for invalid user admin from 10.0.0.1 port 22; secrets: 3"
    assert redact_text(plain) == plain


def test_redact_many_is_redact_text_per_text() -> None:
    """The block pass (``logs parse``) gives what the per-text pass gives, texts without a
    secret included, whatever their characters and lines."""
    texts = [
        *LINES,
        "Failed password for invalid user admin from 10.0.0.1 port 22; secrets: 3",
        "ssh user@host: connection closed by peer",
        "caf\u00e9 \u2603 password=Sup3rS3cret!x then more",
        "Traceback (most recent call last):\n  File x, line 1\nError: token=abcdef123456",
        "",
        "short",
        "GET /high/through/key?x=1 200",
        '10.0.0.1 "GET / HTTP/1.1" 200 "https://example.com/" "Mozilla/5.0"',
        "see https://x.io/ and mail bob@x.io",
        "fetch https://a.example/\n  then admin@host",
        f"cannot connect to postgres://app:{SECRETS['url']}@db:5432/x",
    ] * 3
    assert redact_many(texts) == [redact_text(t) for t in texts]
    assert leaked("\n".join(redact_many(texts))) == []


def test_redact_params_masks_what_the_message_lost() -> None:
    line = f"dsn password={SECRETS['password']} host 10.0.0.1"
    shown = redact_text(line)
    assert redact_params([SECRETS["password"], "10.0.0.1"], shown) == ["***", "10.0.0.1"]


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "app.log"
    path.write_text(
        "".join(
            f"2026-12-04 10:00:{n:02d},000 ERROR app.db: {line}\n" for n, line in enumerate(LINES)
        )
    )
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_logs_commands_never_print_a_secret(tmp_path: Path) -> None:
    log = _log(tmp_path)
    for args in (
        ("logs", "scan", str(log), "--format", "json"),
        ("logs", "scan", str(log)),
        ("logs", "templates", str(log), "--format", "json"),
        ("logs", "templates", str(log)),
        ("logs", "digest", str(log), "--format", "json"),
        ("logs", "digest", str(log)),
        ("logs", "parse", str(log)),
        ("logs", "parse", str(log), "--log-format", "raw"),
    ):
        out = _cli(*args, cwd=tmp_path)
        assert out.returncode in (0, 1), out.stderr
        assert leaked(out.stdout + out.stderr) == [], args
    scan = json.loads(_cli("logs", "scan", str(log), "--format", "json", cwd=tmp_path).stdout)
    assert scan["findings"], "the log has error findings"
    assert any("***" in f["message"] or "***" in " ".join(f["samples"]) for f in scan["findings"])


async def test_notifications_and_the_outbox_carry_no_secret(store: Store) -> None:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"ok": True})

    def setup(app: web.Application) -> None:
        app.router.add_post("/hook", hook)

    with serve_app(setup) as url:
        cfg = {"hook": WebhookNotifierConfig(type="webhook", url=f"{url}/hook", timeout=5)}
        body = "\n".join(f"    {line}" for line in LINES)
        enqueue(
            store,
            ["hook"],
            Event(
                key="log:1",
                type="log.critical",
                subject="log:db",
                title=f"db down password={SECRETS['password']}",
                body=body,
                fields={"sample": LINES[0], "target": f"http://admin:{SECRETS['url']}@10.0.0.7/"},
            ),
        )
        # The monitor writes its incident events straight into the outbox in its transaction.
        with store.begin() as conn:
            enqueue_in(
                conn,
                ["hook"],
                {
                    "key": "incident:1:opened",
                    "type": "incident.opened",
                    "subject": "incident:api:production:1",
                    "title": "api is down",
                    "body": f"- Target: `redis://:{SECRETS['redis']}@cache:6379`\n"
                    f"- Error: `refused`: {LINES[4]}",
                    "fields": {"error": LINES[2]},
                },
            )
        with store.connect() as conn:
            payloads = [r[0] for r in conn.exec_driver_sql("SELECT payload FROM outbox")]
        stored = json.dumps(payloads, default=str)
        assert leaked(stored) == []
        report = await deliver(store, cfg, deadline_s=10)
    assert report.sent == 2
    assert len(received) == 2 and leaked(json.dumps(received)) == []


def test_monitor_once_masks_target_answers_and_url_passwords(tmp_path: Path) -> None:
    answer = {
        "status": "down",
        "password": SECRETS["json"],
        "dsn": f"redis://:{SECRETS['redis']}@c",
    }

    async def health(request: web.Request) -> web.Response:
        return web.json_response(answer, status=503)

    def setup(app: web.Application) -> None:
        app.router.add_get("/health", health)

    with serve_app(setup) as url:
        host = url.removeprefix("http://")
        (tmp_path / "shield.yaml").write_text(
            textwrap.dedent(
                f"""\
                storage: sqlite:///{tmp_path}/state.db
                checks:
                  - name: api
                    type: http
                    url: http://admin:{SECRETS["url"]}@{host}/health
                    conditions:
                      - "[STATUS] == 200"
                      - "[BODY] == ok"
                """
            )
        )
        for fmt in ("json", "table"):
            out = _cli("monitor", "once", "-c", "shield.yaml", "--format", fmt, cwd=tmp_path)
            assert out.returncode == 1, out.stderr
            assert leaked(out.stdout + out.stderr) == [], (fmt, out.stdout)
    db = sqlite3.connect(tmp_path / "state.db")
    rows = db.execute("SELECT error_message, conditions FROM check_results").fetchall()
    assert rows and leaked(json.dumps(rows)) == []
