"""Proxy names are one URL path segment, so every proxy that exists can be shown, changed and
deleted through the API.

`POST /proxies {"name": "../../etc", ...}` used to answer 201 and open a listener that no later
request could address (`DELETE /proxies/../../etc` was `404 page not found`), so only a restart
closed it. Names are now letters, digits, `-`, `_` and `.` (not only dots), as a 400 in the API's
`{"error", "status"}` shape otherwise.
"""

from __future__ import annotations

import pytest

from support.chaos_proxy import ProxyThread, Upstreams

BAD_NAMES = ["../../etc", "a/b", "..", ".", "with space", "caf\u00e9", "x" * 201, "a%2Fb", "a?b"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_name_no_url_can_address_is_refused(api: ProxyThread, name: str) -> None:
    status, data = api.json("POST", "/proxies", {"name": name, "upstream": "127.0.0.1:9"})
    assert status == 400 and data["status"] == 400, data
    assert data["error"].startswith("bad request body: invalid proxy name"), data
    assert "letters, digits" in data["error"]
    assert api.json("GET", "/proxies") == (200, {})  # nothing created, nothing listening


def test_populate_refuses_the_whole_list_for_one_bad_name(api: ProxyThread) -> None:
    body = [
        {"name": "good", "upstream": "127.0.0.1:9"},
        {"name": "../etc", "upstream": "127.0.0.1:9"},
    ]
    status, data = api.json("POST", "/populate", body)
    assert status == 400 and data["error"].startswith("bad request body: invalid proxy name")
    assert api.json("GET", "/proxies") == (200, {})


def test_every_accepted_name_can_be_addressed(api: ProxyThread, upstreams: Upstreams) -> None:
    echo = upstreams.tcp()
    names = ["db-1.primary_EU", "a", "...x", "9"]
    for name in names:
        api.create(name, echo)
        api.toxic(name, type="latency", attributes={"latency": 1})
    for name in names:
        assert api.json("GET", f"/proxies/{name}")[1]["name"] == name
        assert api.json("GET", f"/proxies/{name}/toxics")[0] == 200
    assert api.request("POST", "/reset")[0] == 204
    for name in names:
        assert api.json("GET", f"/proxies/{name}")[1]["toxics"] == []
        assert api.request("DELETE", f"/proxies/{name}")[0] == 204
    assert api.json("GET", "/proxies") == (200, {})


# Toxic names follow the same rule: `POST /proxies/web/toxics {"name": "a/b", ...}` used to add a
# toxic that `DELETE /proxies/web/toxics/a%2Fb` could not reach (`404 page not found`); only
# `POST /reset` removed it.
BAD_TOXIC_NAMES = ["a/b", "../x", "..", "with space", "caf\u00e9", "x" * 201, "a%2Fb", "a?b", "a#b"]


@pytest.mark.parametrize("name", BAD_TOXIC_NAMES)
def test_a_toxic_name_no_url_can_address_is_refused(
    api: ProxyThread, upstreams: Upstreams, name: str
) -> None:
    api.create("web", upstreams.tcp())
    body = {"name": name, "type": "latency", "attributes": {"latency": 1}}
    status, data = api.json("POST", "/proxies/web/toxics", body)
    assert status == 400 and data["status"] == 400, data
    assert data["error"].startswith("bad request body: invalid toxic name"), data
    assert "letters, digits" in data["error"]
    assert api.json("GET", "/proxies/web/toxics") == (200, [])


def test_populate_refuses_a_bad_toxic_name_before_applying_anything(api: ProxyThread) -> None:
    body = [
        {"name": "good", "upstream": "127.0.0.1:9", "toxics": [{"type": "latency"}]},
        {
            "name": "other",
            "upstream": "127.0.0.1:9",
            "toxics": [{"type": "latency", "name": "a/b"}],
        },
    ]
    status, data = api.json("POST", "/populate", body)
    assert status == 400 and data["error"].startswith("bad request body: invalid toxic name")
    assert api.json("GET", "/proxies") == (200, {})


def test_every_accepted_toxic_name_can_be_shown_changed_and_removed(
    api: ProxyThread, upstreams: Upstreams
) -> None:
    api.create("web", upstreams.tcp())
    # the clients' default names (`<type>_<stream>`: the Ruby and Python clients, and the API
    # itself when none is given), and names users give them
    api.toxic("web", type="latency", stream="upstream", name="latency_upstream")
    assert api.toxic("web", type="latency")["name"] == "latency_downstream"
    names = ["latency_upstream", "latency_downstream", "db.slow-1", "...x", "X" * 200]
    for name in names[2:]:
        api.toxic("web", type="latency", name=name, attributes={"latency": 1})
    for name in names:
        status, data = api.json("PATCH", f"/proxies/web/toxics/{name}", {"toxicity": 0.5})
        assert status == 200 and data["name"] == name and data["toxicity"] == 0.5, data
        assert api.json("GET", f"/proxies/web/toxics/{name}")[1]["name"] == name
    # a name percent-encoded in the path is the same name
    assert api.request("DELETE", "/proxies/web/toxics/db%2Eslow%2D1")[0] == 204
    for name in names:
        if name != "db.slow-1":
            assert api.request("DELETE", f"/proxies/web/toxics/{name}")[0] == 204, name
    assert api.json("GET", "/proxies/web/toxics") == (200, [])
