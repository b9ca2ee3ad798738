"""The public subscribe endpoint under hostile input: addresses that lead into the operator's own
network are refused (when subscribing and again when delivering), requests are bounded and
budgeted per client, tokens cannot be forged or swapped, and a bad reference in shield.yaml is a
one-line error. The happy path with real SMTP and webhook servers is
tests/journeys/test_journey_subscriptions.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from prodshield.config import parse_config
from prodshield.errors import ConfigError
from prodshield.monitor.incidents import open_manual
from prodshield.notify import outbox
from prodshield.notify import subscribers as subs
from prodshield.notify.markers import thread_key
from prodshield.notify.worker import deliver_pending
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web.app import create_app

TOKEN = "unit-token-0123456789abcdef"


def _config(tmp_path: Path, extra: str = "") -> Any:
    text = (
        "serve:\n"
        f'  token: "{TOKEN}"\n'
        "  public_url: https://status.acme.test\n"
        "  subscriptions: {enabled: true, email: mail, per_client_per_hour: 20"
        f"{extra}}}\n"
        "notifiers:\n"
        "  mail: {type: email, host: 127.0.0.1, port: 2525, from: s@acme.test, to: [o@acme.test]}\n"
    )
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    return parse_config(text, name=str(path), env={}, fs_path=path)


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(_config(tmp_path), store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "https://user:secret@hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "javascript:alert(1)",
        "http://hooks.example.com/\r\nX-Injected: 1",
        "https://" + "a" * 2100 + ".com/",
    ],
)
def test_webhooks_into_private_networks_and_odd_urls_are_refused(
    client: TestClient, store: Store, url: str
) -> None:
    r = client.post("/status/subscribe", json={"webhook": url})
    assert r.status_code == 400, (url, r.text)
    assert subs.counts(store) == {}


def test_bad_addresses_bounds_and_the_budget(client: TestClient, store: Store) -> None:
    for bad in (
        "not-an-address",
        "a@b",
        "x@localhost",
        "a@b.c\r\nBcc: z@q.com",
        "a" * 300 + "@x.io",
    ):
        assert client.post("/status/subscribe", json={"email": bad}).status_code == 400, bad
    both = {"email": "a@acme.test", "webhook": "https://hooks.example.com/"}
    assert client.post("/status/subscribe", json=both).status_code == 400
    assert client.post("/status/subscribe", content=b"x" * 9000).status_code == 413
    assert (
        client.post(
            "/status/subscribe", content=b"[1]", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    # the rest of the hour's budget of 20 (each request counts, good or bad)
    codes = [
        client.post("/status/subscribe", json={"email": f"u{i}@acme.test"}).status_code
        for i in range(20)
    ]
    assert 429 in codes and codes.count(202) >= 1
    assert codes[-1] == 429
    assert subs.counts(store)["pending"] == codes.count(202)


def _confirm_token(store: Store, address: str) -> str:
    with store.connect() as conn:
        s = t.status_subscribers
        row = conn.execute(select(s).where(s.c.target == address)).one()
    return subs.token_for(thread_key(store), "confirm", row)


def test_pending_subscriptions_expire_and_never_take_a_confirmed_place(
    store: Store, tmp_path: Path
) -> None:
    """Unconfirmed requests are bounded apart (``max_pending``) and forgotten after
    ``pending_ttl``: a flood of them cannot keep a real subscriber out for days."""
    loaded = _config(tmp_path, ", max_subscribers: 2, max_pending: 3, pending_ttl: 2h")
    config, t0 = loaded.config, 1_000_000.0
    for name in ("a", "b", "c"):
        subs.subscribe(store, config, "email", f"{name}@acme.test", now=t0)
    subs.subscribe(store, config, "email", "a@acme.test", now=t0)  # the same one: no new row
    with pytest.raises(subs.SubscriptionsFull):  # the pending bound
        subs.subscribe(store, config, "email", "d@acme.test", now=t0)
    assert subs.confirm(store, _confirm_token(store, "a@acme.test"), now=t0 + 60, config=config)
    subs.subscribe(store, config, "email", "d@acme.test", now=t0 + 60)  # a pending place freed
    assert subs.counts(store) == {"confirmed": 1, "pending": 3}
    # past the TTL the old requests are pruned, and b's link no longer confirms
    late = t0 + 2 * 3600 + 1
    stale = _confirm_token(store, "b@acme.test")
    assert not subs.confirm(store, stale, now=late, config=config)
    assert subs.counts(store) == {"confirmed": 1, "pending": 1}  # d, asked a minute later
    listed = subs.listing(store, config=config, now=t0 + 2 * 3600 + 61)
    assert [(r["target"], r["expires_at"]) for r in listed] == [("a@acme.test", None)]
    # confirmed subscribers are capped by max_subscribers alone
    subs.subscribe(store, config, "email", "e@acme.test", now=late + 60)
    subs.subscribe(store, config, "email", "f@acme.test", now=late + 60)
    assert subs.confirm(store, _confirm_token(store, "e@acme.test"), now=late + 61, config=config)
    with pytest.raises(subs.SubscriptionsFull):
        subs.confirm(store, _confirm_token(store, "f@acme.test"), now=late + 62, config=config)
    with pytest.raises(subs.SubscriptionsFull):
        subs.subscribe(store, config, "email", "g@acme.test", now=late + 63)
    assert subs.counts(store) == {"confirmed": 2, "pending": 1}


def test_a_full_page_answers_503_to_a_confirmation(store: Store, tmp_path: Path) -> None:
    loaded = _config(tmp_path, ", max_subscribers: 1")
    app = create_app(loaded, store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for address in ("a@acme.test", "b@acme.test"):
            assert c.post("/status/subscribe", json={"email": address}).status_code == 202
        ok = c.post("/status/confirm", data={"token": _confirm_token(store, "a@acme.test")})
        assert ok.status_code == 200
        full = c.post("/status/confirm", data={"token": _confirm_token(store, "b@acme.test")})
        assert full.status_code == 503 and "no more subscriptions" in full.text
        assert c.post("/status/subscribe", json={"email": "c@acme.test"}).status_code == 503
    assert subs.counts(store) == {"confirmed": 1, "pending": 1}


def test_tokens_cannot_be_forged_or_swapped(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    loaded = _config(tmp_path)
    subs.subscribe(store, loaded.config, "email", "a@acme.test")
    with store.connect() as conn:
        row = conn.execute(select(t.status_subscribers)).one()
    key = thread_key(store)
    unsub = subs.token_for(key, "unsubscribe", row)
    good = subs.token_for(key, "confirm", row)
    for bad in (unsub, f"{row.id}.{'0' * 40}", "", "x" * 500, f"{row.id + 1}.{good.split('.')[1]}"):
        assert client.post("/status/confirm", data={"token": bad}).status_code == 404, bad
    page = client.get("/status/confirm", params={"token": good})
    assert page.status_code == 200 and subs.counts(store) == {"pending": 1}  # a GET acts not
    assert client.post("/status/confirm", data={"token": good}).status_code == 200
    assert subs.counts(store) == {"confirmed": 1}
    assert client.post("/status/unsubscribe", data={"token": good}).status_code == 404
    assert client.post("/status/unsubscribe", data={"token": unsub}).status_code == 200
    assert subs.counts(store) == {}


def test_off_by_default(store: Store, tmp_path: Path) -> None:
    text = f'serve: {{token: "{TOKEN}"}}\n'
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    app = create_app(parse_config(text, name=str(path), env={}, fs_path=path), store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.post("/status/subscribe", json={"email": "a@acme.test"}).status_code == 404
        assert 'action="/status/subscribe"' not in c.get("/").text


def test_the_email_notifier_must_exist(tmp_path: Path) -> None:
    text = "serve:\n  subscriptions: {enabled: true, email: mial}\nnotifiers:\n  mail: {type: webhook, url: https://x.example.com}\n"
    path = tmp_path / "shield.yaml"
    with pytest.raises(ConfigError) as err:
        parse_config(text, name=str(path), env={}, fs_path=path)
    assert "shield.yaml:2" in str(err.value) and "not a notifier of type email" in str(err.value)


class _Hook:
    def __init__(self) -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.hits += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_delivery_refuses_a_private_address_even_after_subscribing(
    store: Store, tmp_path: Path, host: str
) -> None:
    """A subscriber whose name resolves to loopback by the time of delivery (DNS changed after
    it subscribed, or a literal written straight into the store) gets nothing: the address is
    checked when it is connected to."""
    hook = _Hook()
    try:
        loaded = _config(tmp_path)
        now = 1_000_000.0
        with store.begin() as conn:
            conn.execute(
                t.status_subscribers.insert().values(
                    kind="webhook",
                    target=f"http://{host}:{hook.port}/hook",
                    secret="s" * 48,
                    status=subs.CONFIRMED,
                    created_at=now,
                )
            )
        open_manual(store, loaded.config, "Checkout is slow", service="checkout")
        report = deliver_pending(store, subs.delivery_notifiers(loaded.config), deadline_s=3)
        assert hook.hits == 0
        rows = [r for r in outbox.status(store).dead] + [
            r for r in _all_rows(store) if r.notifier == subs.SUBSCRIBERS
        ]
        errors = " ".join(str(r.last_error) for r in rows)
        assert "private or local address" in errors, (errors, report)
        # allowed by the operator, the same subscriber is reached
        allowed = _config(tmp_path, ", allow_private_targets: true")
        open_manual(store, allowed.config, "Search is down", service="search")
        deliver_pending(store, subs.delivery_notifiers(allowed.config), deadline_s=5)
        assert hook.hits >= 1
    finally:
        hook.server.shutdown()
        hook.server.server_close()


def _all_rows(store: Store) -> list[Any]:
    with store.connect() as conn:
        return list(conn.execute(select(t.outbox)).all())


def test_many_requests_for_one_address_at_once_make_one_subscription(
    store: Store, tmp_path: Path
) -> None:
    loaded = _config(tmp_path)
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            subs.subscribe(store, loaded.config, "email", "race@acme.test")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors, errors
    assert subs.counts(store) == {"pending": 1}
    confirms = [r for r in _all_rows(store) if r.event_type == subs.CONFIRM]
    assert len(confirms) == 1
