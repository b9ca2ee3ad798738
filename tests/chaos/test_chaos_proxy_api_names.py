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
