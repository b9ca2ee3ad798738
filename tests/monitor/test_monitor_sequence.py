"""``type: sequence`` against a real loopback aiohttp app: a login hands out a token, the API
requires it; config mistakes are located errors."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from prodshield.config.loader import parse_config
from prodshield.errors import ConfigError
from prodshield.monitor.probe import Probe
from prodshield.monitor.run import run_target
from prodshield.monitor.validation import check_problems
from support.monitor import target
from support.standins.loopback_app import serve_app


def shop_routes(app: web.Application) -> None:
    """``POST /login`` returns a fresh token; ``GET /api/orders`` wants it as a bearer."""
    issued: list[str] = []

    async def login(request: web.Request) -> web.Response:
        creds = await request.json()
        if creds.get("password") != "right":
            return web.json_response({"error": "bad password"}, status=403)
        token = "tok-" + secrets.token_hex(16)
        issued.append(token)
        return web.json_response({"token": token, "user": {"id": 7}})

    async def orders(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if not issued or auth != f"Bearer {issued[-1]}":
            return web.json_response({"error": "unauthorized", "got": auth}, status=401)
        return web.json_response({"orders": [1, 2], "user": request.query.get("user")})

    app.router.add_post("/login", login)
    app.router.add_get("/api/orders", orders)


@pytest.fixture
def shop() -> Iterator[str]:
    with serve_app(shop_routes) as base:
        yield base


def journey(base: str, password: str = "right", header: str = "Bearer {captures.token}") -> Any:
    return {
        "type": "sequence",
        "steps": [
            {
                "name": "login",
                "method": "POST",
                "url": f"{base}/login",
                "body": json.dumps({"user": "probe", "password": password}),
                "headers": {"Content-Type": "application/json"},
                "conditions": ["[STATUS] == 200"],
                "capture": {"token": "[BODY].token", "uid": "[BODY].user.id"},
            },
            {
                "name": "get-orders",
                "url": f"{base}/api/orders?user={{captures.uid}}",
                "headers": {"Authorization": header},
                "conditions": ["[STATUS] == 200", "len([BODY].orders) == 2"],
            },
        ],
        "conditions": ["[BODY].user == 7"],
    }


async def test_token_flows_from_login_into_the_api_call(shop: str, probe: Probe) -> None:
    r = await run_target(target(journey(shop)), probe)
    assert r.ok, r.error
    assert [s["name"] for s in r.details["steps"]] == ["login", "get-orders"]
    assert [s["status"] for s in r.details["steps"]] == [200, 200]
    # the response time is the whole sequence's: at least the sum of its steps
    assert r.response_time_ms >= sum(s["ms"] for s in r.details["steps"]) - 1
    assert [c.ok for c in r.conditions] == [True]


async def test_the_failing_step_is_named_and_the_token_is_masked(shop: str, probe: Probe) -> None:
    # The API call sends the wrong header: step 2 fails on its status.
    r = await run_target(target(journey(shop, header="Token {captures.token}")), probe)
    assert not r.ok and r.error is not None
    assert r.error.kind == "condition"
    assert (
        r.error.message
        == "step 2 (get-orders): [STATUS] (401) == 200; len([BODY].orders) (<missing>) == 2"
    )
    # A condition that shows the captured token shows it masked.
    cfg = journey(shop, header="Token {captures.token}")
    cfg["steps"][1]["conditions"] = ["[BODY].got == nothing"]
    r = await run_target(target(cfg), probe)
    assert r.error is not None and r.error.message.startswith("step 2 (get-orders): [BODY].got (")
    assert "tok-" not in r.error.message or "…" in r.error.message
    token = r.error.message.split("Token ")[1].split(")")[0]
    assert len(token) < 20, r.error.message  # 36 characters whole


async def test_first_step_failure_stops_the_run(shop: str, probe: Probe) -> None:
    r = await run_target(target(journey(shop, password="wrong")), probe)
    assert r.error is not None
    assert r.error.message == "step 1 (login): [STATUS] (403) == 200"
    assert [s["name"] for s in r.details["steps"]] == ["login"]


async def test_a_missing_capture_fails_the_step(shop: str, probe: Probe) -> None:
    cfg = journey(shop)
    cfg["steps"][0]["capture"] = {"token": "[BODY].access_token"}
    r = await run_target(target(cfg), probe)
    assert r.error is not None
    assert r.error.message == (
        "step 1 (login): [BODY].access_token is not in the response (for {captures.token})"
    )


async def test_unreachable_step_is_a_network_error_naming_the_step(probe: Probe) -> None:
    with serve_app(lambda app: None) as base:
        dead = base
    r = await run_target(target(journey(dead)), probe)
    assert r.error is not None and r.error.kind == "refused"
    assert r.error.message.startswith("step 1 (login): ")


def _problems(yaml_text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(yaml_text, name="shield.yaml", env={}, validators=[check_problems])
    return err.value.problems


def test_unknown_capture_reference_is_located() -> None:
    text = (
        "checks:\n"
        "  - name: api\n"
        "    type: sequence\n"
        "    steps:\n"
        "      - name: login\n"
        "        url: http://127.0.0.1:1/login\n"
        "        capture: {token: '[BODY].token'}\n"
        "      - name: orders\n"
        "        url: http://127.0.0.1:1/orders\n"
        "        headers:\n"
        "          Authorization: 'Bearer {captures.tokn}'\n"
    )
    (problem,) = _problems(text)
    assert problem.startswith("shield.yaml:11:")
    assert "{captures.tokn} is not captured by an earlier step" in problem
    assert "token" in problem


def test_empty_steps_and_bad_capture_are_located() -> None:
    text = "checks:\n  - name: api\n    type: sequence\n    steps: []\n"
    (problem,) = _problems(text)
    assert problem.startswith("shield.yaml:4:") and "at least one step" in problem
    text = (
        "checks:\n"
        "  - name: api\n"
        "    type: sequence\n"
        "    steps:\n"
        "      - name: login\n"
        "        url: http://127.0.0.1:1/login\n"
        "        capture: {token: 'BODY.token'}\n"
    )
    (problem,) = _problems(text)
    assert problem.startswith("shield.yaml:7:") and "placeholder" in problem
