"""Subscriptions to the status page, as visitors meet them: a webhook and an email address
subscribe through ``serve``'s public endpoint, each confirms (double opt-in: the webhook posts
back the token it was sent, the mail's link leads to a button), an unconfirmed address hears
nothing but its confirmation, and every confirmed subscriber gets an incident's opening, its
update and its resolution once each, through the outbox (a real SMTP server on loopback, a real
HTTP receiver). The unsubscribe link in a message ends the mail; the webhook goes on."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.cli import prodshield, wide_env
from support.net import free_port, smtp_controller, wait_until
from support.standins.subscriber import Subscriber

TOKEN = "journey-token-0123456789abcdef"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=wide_env())


def _wait(predicate: Any, what: str, timeout: float = 60.0) -> Any:
    return wait_until(predicate, what, timeout, interval=0.2)


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:

    mails: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            mails.append((list(envelope.rcpt_tos), msg))
            return "250 accepted"

    controller = smtp_controller(Handler())
    controller.start()
    try:
        yield controller.port, mails
    finally:
        controller.stop()


def _post(url: str, data: dict[str, str], *, as_json: bool) -> tuple[int, str]:
    if as_json:
        body, ctype = json.dumps(data).encode(), "application/json"
    else:
        body, ctype = urllib.parse.urlencode(data).encode(), "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _mails_to(mails: list[Any], address: str) -> list[Any]:
    return [m for to, m in mails if address in to]


def _text(msg: Any) -> str:
    return str(msg.get_body(preferencelist=("plain",)).get_content())


def test_webhook_and_email_subscribers_confirm_then_get_each_message_once(
    tmp_path: Path, smtp: tuple[int, list[Any]]
) -> None:
    smtp_port, mails = smtp
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    hook = Subscriber("/hooks/status")
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "environments: {production: {}}\n"
        "serve:\n"
        f"  port: {port}\n"
        f'  token: "{TOKEN}"\n'
        f"  public_url: {site}\n"
        "  title: Acme status\n"
        "  subscriptions: {enabled: true, email: mail, allow_private_targets: true}\n"
        "notifiers:\n"
        f"  mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, starttls: false, "
        "from: status@acme.test, to: [ops@acme.test], backoff: 1s}\n"
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "serve", "-c", str(tmp_path / "shield.yaml")],
        cwd=tmp_path,
        env=wide_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        page = _wait(lambda: _get_ok(site + "/"), "serve to answer")
        assert 'action="/status/subscribe"' in page  # the page offers the form

        # the webhook subscribes (JSON) and confirms with the token it is sent
        status, body = _post(site + "/status/subscribe", {"webhook": hook.url}, as_json=True)
        assert status == 202, body
        confirm = _wait(lambda: hook.events, "the webhook's confirmation")[0]
        assert confirm["event"]["type"] == "subscription.confirm"
        assert confirm["unsubscribe_url"].startswith(site + "/status/unsubscribe?token=")
        secret = confirm["secret"]
        status, body = _post(site + "/status/confirm", {"token": "1.bad"}, as_json=True)
        assert status == 404, body
        status, body = _post(site + "/status/confirm", {"token": confirm["token"]}, as_json=True)
        assert status == 200, body

        # alice subscribes by the page's form and confirms through the mail's link
        status, body = _post(
            site + "/status/subscribe", {"email": "alice@acme.test"}, as_json=False
        )
        assert status == 202 and "confirmation was sent" in body, body
        asked = _wait(lambda: _mails_to(mails, "alice@acme.test"), "alice's confirmation mail")[0]
        link = re.search(r"Confirm the subscription: (\S+)", _text(asked))
        assert link, _text(asked)
        landing = _get_ok(link.group(1))  # a GET shows a button, it confirms nothing
        assert landing is not None, link.group(1)
        token = re.search(r'name="token" value="([^"]+)"', landing)
        assert token and 'action="/status/confirm"' in landing
        status, body = _post(site + "/status/confirm", {"token": token.group(1)}, as_json=False)
        assert status == 200 and "Subscribed" in body, body

        # bob never confirms; asking again does not send him a second mail within the hour
        for _ in range(2):
            status, _ = _post(site + "/status/subscribe", {"email": "bob@acme.test"}, as_json=True)
            assert status == 202
        _wait(lambda: _mails_to(mails, "bob@acme.test"), "bob's confirmation mail")

        # an incident: opened, updated, resolved
        opened = _cli(
            tmp_path, "incident", "open", "Checkout is slow", "--service", "checkout",
            "--env", "production",
        )  # fmt: skip
        assert opened.returncode == 0, opened.stderr
        incident = re.search(r"#(\d+)", opened.stdout).group(1)  # type: ignore[union-attr]
        updated = _cli(tmp_path, "incident", "update", incident, "A slow query is being fixed.")
        assert updated.returncode == 0, updated.stderr
        resolved = _cli(tmp_path, "incident", "resolve", incident)
        assert resolved.returncode == 0, resolved.stderr

        phases = ("opened", "update", "resolved")
        _wait(lambda: set(phases) <= set(hook.phases()), "the webhook's three messages")
        _wait(lambda: len(_mails_to(mails, "alice@acme.test")) >= 4, "alice's three messages")
        time.sleep(3)  # room for a duplicate to show up, were there one
        assert sorted(hook.phases()) == sorted(phases), hook.phases()
        keys = [p["headers"]["X-Prodshield-Idempotency-Key"] for p in hook.posts]
        assert len(keys) == len(set(keys))
        for post in hook.posts[1:]:  # signed with the subscription's own secret
            want = hmac.new(secret.encode(), post["raw"], hashlib.sha256).hexdigest()
            assert post["headers"]["X-Prodshield-Signature"] == f"sha256={want}"
        update = next(e for e in hook.events if e["event"]["fields"].get("phase") == "update")
        assert "A slow query is being fixed." in update["event"]["body"]
        assert update["event"]["url"] == f"{site}/#incident-{incident}"

        alice = _mails_to(mails, "alice@acme.test")
        subjects = [str(m["Subject"]) for m in alice]
        assert len(alice) == 4, subjects
        assert any("Incident: Checkout is slow" in s for s in subjects), subjects
        assert any("Update: Checkout is slow" in s for s in subjects), subjects
        assert any("Resolved: Checkout is slow" in s for s in subjects), subjects
        assert len(_mails_to(mails, "bob@acme.test")) == 1  # his confirmation only

        # alice leaves through the link in her last mail; the webhook stays
        leave = re.search(r"Unsubscribe: (\S+)", _text(alice[-1]))
        assert leave
        landing = _get_ok(leave.group(1))
        assert landing and 'action="/status/unsubscribe"' in landing  # a GET removes nothing
        # her mail client's one-click unsubscribe (RFC 8058): a POST to the header's URL
        assert str(alice[-1]["List-Unsubscribe"]) == f"<{leave.group(1)}>"
        assert str(alice[-1]["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
        one_click = urllib.request.Request(
            leave.group(1),
            data=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(one_click, timeout=10) as r:
            assert r.status == 200 and "Unsubscribed" in r.read().decode()
        again = _cli(tmp_path, "incident", "open", "Search is down", "--service", "search")
        assert again.returncode == 0, again.stderr
        _wait(
            lambda: any("Search is down" in e["event"]["title"] for e in hook.events),
            "the webhook's message about the second incident",
        )
        time.sleep(2)
        assert len(_mails_to(mails, "alice@acme.test")) == 4

        # the operator's view: the webhook (its URL without query), bob pending, alice gone
        listed = _cli(tmp_path, "status", "subscribers", "--json")
        assert listed.returncode == 0, listed.stderr
        rows = {r["target"]: r for r in json.loads(listed.stdout)["subscriptions"]}
        assert set(rows) == {hook.url, "bob@acme.test"}, rows
        assert (
            rows[hook.url]["status"] == "confirmed" and rows["bob@acme.test"]["status"] == "pending"
        )
        gone = _cli(tmp_path, "status", "subscribers", "--remove", str(rows["bob@acme.test"]["id"]))
        assert gone.returncode == 0, gone.stderr
        table = _cli(tmp_path, "status", "subscribers")
        assert "bob@acme.test" not in table.stdout and "1 subscription" in table.stdout
    finally:
        serve.terminate()
        try:
            _, err = serve.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            _, err = serve.communicate()
        hook.close()
    assert "Traceback" not in (err or ""), err


def _get_ok(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return str(r.read().decode())
    except OSError:
        return None
