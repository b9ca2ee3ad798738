"""Journey: what a status page's subscribers hear while a silence covers the failing check, both
ways ``serve.subscriptions.during_silence`` allows, through ``prodshield serve`` and a real webhook
receiver on loopback.

``notify`` (the default): a silence quiets the operators' pages, not the status page, so the
subscriber hears of the incident when it opens. ``hold``: the subscriber's messages wait like the
operators' pages; ending the silence (``incident unsilence``) while the check still fails sends the
opening, once, and the recovery follows."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.alerting import TOKEN, api, cli, serving, target_up, wait
from support.net import refused_port
from support.standins.subscriber import Subscriber


@pytest.fixture
def receiver() -> Iterator[Subscriber]:
    rx = Subscriber()
    try:
        yield rx
    finally:
        rx.close()


def _post_json(url: str, body: dict[str, str]) -> int:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return int(r.status)


@pytest.mark.parametrize("mode", ["notify", "hold"])
def test_subscribers_during_a_silence(tmp_path: Path, receiver: Subscriber, mode: str) -> None:
    target_port = refused_port()  # held until the first target_up
    setting = "" if mode == "notify" else ", during_silence: hold"  # notify is the default
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "serve:\n"
        f'  port: 0\n  token: "{TOKEN}"\n'
        f"  subscriptions: {{enabled: true, allow_private_targets: true{setting}}}\n"
        "defaults: {failure_threshold: 1, success_threshold: 1}\n"
        "checks:\n"
        f"  - {{name: shop, type: http, url: 'http://127.0.0.1:{target_port}/', timeout: 1s,"
        " interval: 1s}\n"
    )
    with target_up(target_port), serving(tmp_path) as serve:
        port, site = serve.port, serve.base
        wait(lambda: api(port, "/api/v1/checks")[0] == 200, "serve to answer")
        assert _post_json(site + "/status/subscribe", {"webhook": receiver.url}) == 202
        asked = wait(lambda: receiver.events, "the confirmation")[0]
        assert _post_json(site + "/status/confirm", {"token": asked["token"]}) == 200
        made = cli(
            tmp_path, "incident", "silence", "shop", "--for", "1h", "--reason", "migration",
            "--json",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        silence = json.loads(made.stdout)
    # the target is gone: the check fails while silenced
    with serving(tmp_path) as serve:
        port = serve.port
        [incident] = wait(
            lambda: api(port, "/api/v1/incidents?status=open")[1]["incidents"],
            "the incident to open",
        )
        wait(
            lambda: (
                "incident.opened"
                in (api(port, f"/api/v1/incidents/{incident['id']}")[1]["silence"] or {}).get(
                    "held", []
                )
            ),
            "the silence recorded on the incident",
        )
        if mode == "notify":
            wait(lambda: receiver.phases() == ["opened"], "the subscriber told of the opening")
        else:
            time.sleep(4.0)  # several check runs and outbox passes: still nothing
            assert receiver.phases() == []
            ended = cli(tmp_path, "incident", "unsilence", str(silence["id"]))
            assert ended.returncode == 0, ended.stderr
            wait(lambda: receiver.phases() == ["opened"], "the opening once the silence ends")
        with target_up(target_port):
            wait(lambda: receiver.phases() == ["opened", "resolved"], "the resolution")
            time.sleep(2.0)  # room for a duplicate, were there one
            assert receiver.phases() == ["opened", "resolved"]
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log
