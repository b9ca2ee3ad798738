"""Slack, webhook and email notifiers against real local receivers; the notifier registry."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from email import message_from_bytes
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from prodshield.config import parse_config
from prodshield.config.notifiers import (
    EmailNotifierConfig,
    SlackNotifierConfig,
    WebhookNotifierConfig,
)
from prodshield.errors import NotifyError
from prodshield.notify import Event, deliver, enqueue, outbox
from prodshield.notify.providers import REGISTRY, DeliveryContext, Notifier, build
from prodshield.notify.providers.email import EmailNotifier, message_id
from prodshield.store import Store
from support.certs import self_signed
from support.net import refused_port, smtp_controller

DOCS = Path(__file__).resolve().parents[2] / "docs" / "notify.md"
DOC_ENV = {
    "PAGERDUTY_ROUTING_KEY": "R" * 32,
    "OPSGENIE_API_KEY": "eb243592-faa2-4ba2-a551-1afdf565c889",
    "NTFY_TOKEN": "tk_0123456789abcdefghijklmnopqrs",
    "DISCORD_WEBHOOK": "https://discord.com/api/webhooks/1/t",
    "TEAMS_WEBHOOK": "https://example.webhook.office.com/webhookb2/x",
    "TELEGRAM_BOT_TOKEN": "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
}


def incident(key: str = "inc-7:opened") -> Event:
    return Event(
        key=key,
        type="incident.opened",
        subject="incident:api-health:production",
        title="api-health is down in production",
        body="3 checks failed: `[STATUS] == 200` got 503",
        severity="critical",
        fields={"check": "api-health", "environment": "production"},
        url="http://127.0.0.1:8080/incidents/7",
    )


class Receiver:
    """An HTTP endpoint on loopback that records requests and answers from a script."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[tuple[int, dict[str, str], str]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Receiver:
        async def handle(request: web.Request) -> web.Response:
            self.requests.append((dict(request.headers), await request.read()))
            status, headers, text = self.answers.pop(0) if self.answers else (200, {}, "ok")
            return web.Response(status=status, headers=headers, text=text)

        app = web.Application()
        app.router.add_post("/services/T000/B000/XXXXSECRETXXXX", handle)
        app.router.add_post("/hook", handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def test_slack_message_has_text_and_blocks(store: Store) -> None:
    async with Receiver() as rx:
        url = f"{rx.url}/services/T000/B000/XXXXSECRETXXXX"
        cfg = {"ops": SlackNotifierConfig(type="slack", webhook_url=url, channel="#ops")}
        enqueue(store, ["ops"], incident())
        report = await deliver(store, cfg, deadline_s=5)
        assert report.sent == 1
        [(headers, raw)] = rx.requests
        assert headers["Content-Type"] == "application/json"
        msg = json.loads(raw)
        assert msg["text"].startswith(":red_circle: api-health is down in production")
        assert msg["channel"] == "#ops" and msg["username"] == "prodshield"
        kinds = [b["type"] for b in msg["blocks"]]
        assert kinds == ["header", "section", "section", "context"]
        assert msg["blocks"][2]["fields"][0] == {"type": "mrkdwn", "text": "*check*\napi-health"}
        assert "<http://127.0.0.1:8080/incidents/7|dashboard>" in json.dumps(msg["blocks"][3])


async def test_slack_errors_rate_limit_and_invalid_webhook() -> None:
    async with Receiver() as rx, aiohttp.ClientSession() as session:
        url = f"{rx.url}/services/T000/B000/XXXXSECRETXXXX"
        slack = build(SlackNotifierConfig(type="slack", webhook_url=url))
        ctx = DeliveryContext(session, "ops", 1, 5.0)
        rx.answers = [(429, {"Retry-After": "7"}, "rate_limited"), (404, {}, "no_service")]
        with pytest.raises(NotifyError) as err:
            await slack.send(incident(), ctx)
        assert err.value.retry_after == 7 and not err.value.permanent
        with pytest.raises(NotifyError) as err:
            await slack.send(incident(), ctx)
        assert err.value.permanent and "no_service" in str(err.value)
        assert "XXXXSECRETXXXX" not in str(err.value)  # the webhook URL is a secret


async def test_webhook_is_signed_and_carries_the_idempotency_key(store: Store) -> None:
    secret = "s3cr3t-shared-with-the-receiver"
    async with Receiver() as rx:
        cfg = {
            "pager": WebhookNotifierConfig(
                type="webhook",
                url=f"{rx.url}/hook",
                secret=secret,
                headers={"X-Team": "web"},
                backoff=0.05,
            )
        }
        rx.answers = [(503, {"Retry-After": "0"}, "busy")]
        enqueue(store, ["pager"], incident())
        report = await deliver(store, cfg, deadline_s=10)
        assert [o.status for o in report.outcomes] == ["retry", "sent"]
        assert len(rx.requests) == 2
        for attempt, (headers, raw) in enumerate(rx.requests, start=1):
            expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["X-Prodshield-Signature"], expected)
            assert headers["X-Prodshield-Event"] == "incident.opened"
            assert headers["X-Prodshield-Idempotency-Key"] == "inc-7:opened"
            assert headers["X-Team"] == "web"
            body = json.loads(raw)
            assert body["attempt"] == attempt
            assert body["event"]["fields"] == {"check": "api-health", "environment": "production"}
        # A tampered body does not verify.
        raw = rx.requests[0][1].replace(b"api-health", b"api-hea1th")
        forged = "sha256=" + hmac.new(b"wrong", raw, hashlib.sha256).hexdigest()
        assert forged != rx.requests[0][0]["X-Prodshield-Signature"]

        rx.answers = [(400, {}, "bad request")]
        enqueue(store, ["pager"], incident("inc-8:opened"))
        report = await deliver(store, cfg, deadline_s=5)
        assert [o.status for o in report.outcomes] == ["dead"]
        assert "HTTP 400" in (outbox.find(store, "pager", "inc-8:opened").last_error or "")  # type: ignore[union-attr]


# --- email --------------------------------------------------------------------------------


def make_cert(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost that is its own CA."""
    return self_signed(tmp, "smtp")


@pytest.fixture
def smtp_server(tmp_path: Path) -> Any:
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = make_cert(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    class Handler:
        def __init__(self) -> None:
            self.messages: list[dict[str, Any]] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.messages.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "data": envelope.content,
                    "tls": session.ssl is not None,
                    "login": session.auth_data if session.authenticated else None,
                }
            )
            return "250 Message accepted for delivery"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"prodshield",
            b"mail-pass-123",
        )
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)

    handler = Handler()
    controller = smtp_controller(
        handler,
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        yield controller, handler, cert
    finally:
        controller.stop()


def email_config(controller: Any, cert: Path, **kw: Any) -> EmailNotifierConfig:
    values: dict[str, Any] = {
        "type": "email",
        "host": "127.0.0.1",
        "port": controller.port,
        "username": "prodshield",
        "password": "mail-pass-123",
        "from": "prodshield@example.com",
        "to": ["oncall@example.com", "lead@example.com"],
        "ca_file": str(cert),
        "timeout": 5,
    }
    values.update(kw)
    return EmailNotifierConfig(**values)


async def test_email_over_starttls_with_login(smtp_server: Any, store: Store) -> None:
    controller, handler, cert = smtp_server
    cfg = {"mail": email_config(controller, cert)}
    enqueue(store, ["mail"], incident())
    report = await deliver(store, cfg, deadline_s=10)
    assert report.sent == 1, report.outcomes
    [got] = handler.messages
    assert got["tls"] and got["login"] == b"prodshield"
    assert got["to"] == ["oncall@example.com", "lead@example.com"]
    msg = message_from_bytes(got["data"])
    assert msg["Subject"] == "[prodshield] api-health is down in production"
    assert msg["Message-ID"] == message_id("inc-7:opened")
    assert re.fullmatch(r"<[0-9a-f]{32}@prodshield>", msg["Message-ID"])
    assert msg["References"].startswith("<thread-")
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert "check: api-health" in text and "http://127.0.0.1:8080/incidents/7" in text
    row = outbox.find(store, "mail", "inc-7:opened")
    assert row is not None and row.result == {"message_id": msg["Message-ID"], "to": 2}


async def test_email_failures_are_classified(smtp_server: Any, tmp_path: Path) -> None:
    controller, handler, cert = smtp_server
    async with aiohttp.ClientSession() as session:
        ctx = DeliveryContext(session, "mail", 1, 5.0)
        wrong = EmailNotifier(email_config(controller, cert, password="nope"))
        with pytest.raises(NotifyError) as err:
            await wrong.send(incident(), ctx)
        assert err.value.permanent and "login refused (535)" in str(err.value)
        assert "nope" not in str(err.value)

        (tmp_path / "other").mkdir()
        other_cert, _ = make_cert(tmp_path / "other")  # a CA that did not sign the server's cert
        untrusted = EmailNotifier(email_config(controller, cert, ca_file=str(other_cert)))
        with pytest.raises(NotifyError) as err:
            await untrusted.send(incident(), ctx)
        assert err.value.permanent and "certificate not trusted" in str(err.value)

        refused = EmailNotifier(email_config(controller, cert, port=refused_port()))
        with pytest.raises(NotifyError) as err:
            await refused.send(incident(), ctx)
        assert not err.value.permanent
    assert handler.messages == []


# --- the registry ---------------------------------------------------------------------------


def _doc_examples() -> dict[str, str]:
    text = DOCS.read_text()
    out = {}
    for m in re.finditer(r"^### (\w+)\n\n```yaml\n(.*?)```", text, re.S | re.M):
        out[m.group(1)] = m.group(2)
    return out


def test_every_registered_notifier_is_documented_valid_and_implements_the_protocol() -> None:
    examples = _doc_examples()
    assert set(examples) == set(REGISTRY)
    env = {
        "GITHUB_TOKEN": "t",
        "SLACK_WEBHOOK": "http://x",
        "WEBHOOK_SECRET": "s",
        "SMTP_PASSWORD": "p",
        **DOC_ENV,
    }
    for kind, cls in REGISTRY.items():
        assert cls.type == kind
        assert cls.config_model.model_validate(cls.example).type == kind  # type: ignore[attr-defined]
        loaded = parse_config(examples[kind], name=f"docs/notify.md#{kind}", env=env)
        [cfg] = loaded.config.notifiers.values()
        assert isinstance(cfg, cls.config_model)
        assert cfg.type == kind
        notifier = build(cfg)
        assert isinstance(notifier, cls) and isinstance(notifier, Notifier)
        assert asyncio.iscoroutinefunction(notifier.send)
        secrets = notifier.secrets()
        assert all(isinstance(s, str) and s for s in secrets)


def test_every_notifier_example_passes_config_check_from_the_cli(tmp_path: Path) -> None:
    """Each docs/notify.md example, as a user would paste it, is accepted by `config check`."""
    env = {k: v for k, v in os.environ.items() if k != "PRODSHIELD_CONFIG"}
    env.update(DOC_ENV, GITHUB_TOKEN="t", SLACK_WEBHOOK="http://x", WEBHOOK_SECRET="s")
    env["SMTP_PASSWORD"] = "p"
    examples = _doc_examples()
    entries = "".join(text.split("\n", 1)[1] for text in examples.values())
    path = tmp_path / "shield.yaml"
    path.write_text(f"storage: sqlite:///{tmp_path}/s.db\nnotifiers:\n{entries}")
    done = subprocess.run(
        [sys.executable, "-m", "prodshield", "config", "check", "-c", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert f"{len(examples)} notifiers" in done.stdout, done.stdout
    assert "is written in the file" not in done.stderr, done.stderr  # the docs use ${VAR}s
