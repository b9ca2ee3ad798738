"""``type: email``: SMTP with STARTTLS (or implicit TLS) and login.

``Message-ID`` is derived from the idempotency key and ``References`` from the subject, so mail
clients thread an incident's messages and a receiving system can drop a repeated delivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from email.header import Header
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate
from typing import Any, ClassVar

from prodshield.config.notifiers import EmailNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event, with_marks
from prodshield.notify.providers.base import ConfigModel, DeliveryContext
from prodshield.text import for_header, needs_encoded_word


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@prodshield>"


def thread_id(subject: str) -> str:
    return f"<thread-{hashlib.sha256(subject.encode()).hexdigest()[:32]}@prodshield>"


class Subject(str):
    """The Subject: one line of the title with its control characters shown as marks, as in the
    body (``␛[31m``; `text.for_header`), sent RFC 2047 encoded when it is not plain ASCII or holds
    ``=?`` (`text.needs_encoded_word`).

    Folded here, by ``email.header.Header``: the email package's own folding writes ASCII text as
    it is (``=?UTF-8?B?Gw==?=`` from a target reached the reader as a raw ESC) and, on Python
    3.11, drops the space where it splits two encoded words. The package sends a header object
    with a ``name`` as its ``fold`` says; ``str()`` is the text a reader sees."""

    name = "Subject"

    def __new__(cls, title: str) -> Subject:
        return super().__new__(cls, for_header(f"[prodshield] {title}", 998))

    def fold(self, *, policy: Policy) -> str:
        charset = "utf-8" if needs_encoded_word(self) else "us-ascii"
        value = Header(str(self), charset, header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {value}{policy.linesep}"


def build_message(event: Event, config: EmailNotifierConfig) -> EmailMessage:
    """A plain-text message (no HTML part: nothing from outside can run or load in a mail
    client); the control characters of its subject and body shown as marks, for terminal mail
    readers."""
    event = with_marks(event)
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = ", ".join(config.to)
    msg["Subject"] = Subject(event.title)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(event.key)
    msg["References"] = thread_id(event.subject)
    msg["In-Reply-To"] = thread_id(event.subject)
    msg["X-Prodshield-Event"] = event.type
    msg["X-Prodshield-Idempotency-Key"] = event.key
    lines = [event.body.strip(), ""] if event.body.strip() else []
    lines += [f"{k}: {v}" for k, v in event.fields.items()]
    if event.url:
        lines += ["", event.url]
    lines += ["", f"{event.type} · severity {event.severity} · {event.subject}"]
    msg.set_content("\n".join(lines).strip() + "\n")
    return msg


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class EmailNotifier:
    type: ClassVar[str] = "email"
    example: ClassVar[dict[str, Any]] = {
        "type": "email",
        "host": "smtp.example.com",
        "from": "prodshield@example.com",
        "to": ["oncall@example.com"],
    }
    config_model: ClassVar[ConfigModel] = EmailNotifierConfig

    def __init__(self, config: EmailNotifierConfig) -> None:
        self.config = config

    def secrets(self) -> list[str]:
        return [self.config.password] if self.config.password else []

    def _tls(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.config.ca_file)
        if not self.config.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        msg = build_message(event, self.config)
        await asyncio.to_thread(self.send_message, msg, ctx.timeout)
        return {"message_id": msg["Message-ID"], "to": len(self.config.to)}

    def send_message(self, msg: EmailMessage, timeout: float) -> None:
        """Send a built message (blocking): what ``send`` does after building it."""
        c = self.config
        what = f"SMTP {c.host}:{c.port}"
        try:
            tls = self._tls()
        except (OSError, ssl.SSLError) as exc:
            raise NotifyError(f"{what}: cannot load ca_file: {exc}", permanent=True) from None
        try:
            smtp: smtplib.SMTP
            if c.ssl:
                smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=timeout, context=tls)
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=timeout)
            with smtp:
                smtp.ehlo()
                if c.starttls and not c.ssl:
                    if not smtp.has_extn("starttls"):
                        raise NotifyError(f"{what}: server does not offer STARTTLS", permanent=True)
                    smtp.starttls(context=tls)
                    smtp.ehlo()
                if c.username:
                    smtp.login(c.username, c.password or "")
                smtp.send_message(msg)
        except NotifyError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyError(
                f"{what}: login refused ({exc.smtp_code}): check username and password",
                permanent=True,
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            temporary = all(400 <= code < 500 for code in codes)
            raise NotifyError(
                f"{what}: recipients refused ({', '.join(map(str, sorted(codes)))})",
                permanent=not temporary,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise NotifyError(
                f"{what}: {exc.smtp_code} {_text(exc.smtp_error)[:200]}",
                permanent=exc.smtp_code >= 500,
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise NotifyError(
                f"{what}: certificate not trusted: {exc.verify_message}", permanent=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(f"{what}: {type(exc).__name__}: {exc}") from None
