"""Public pages cannot be made expensive by query strings, and every check name can be opened."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

from starlette.testclient import TestClient

from prodshield.store import Store
from prodshield.web import create_app
from support.serve_process import TOKEN, login, serve, session_of
from support.web_seed import loaded_config, seed


def test_ever_new_query_strings_do_not_bypass_the_status_page_cache(
    store: Store, tmp_path: Path
) -> None:
    seed(store)
    app = create_app(loaded_config(tmp_path), store, token=TOKEN)
    cache = app.state.ctx.responses
    with TestClient(app, base_url="http://127.0.0.1") as client:
        first = client.get("/")
        assert first.status_code == 200
        built = cache.misses
        for i in range(400):
            r = client.get(f"/?page={i + 2}&utm={i}&x{i}=1")
            assert r.status_code == 200
        # one page of services here: every page number past it is that page, built at most once
        assert cache.misses - built <= 1
        hits = cache.hits
        client.get("/")
        assert cache.hits == hits + 1  # the real page was not evicted by the flood
        # the JSON list: unknown filters are refused, not cached under ever-new keys
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert client.get("/api/v1/checks?environment=nope-1", headers=auth).status_code == 400
        assert client.get("/api/v1/checks?status=sideways", headers=auth).status_code == 400
        ok = client.get("/api/v1/checks?environment=production&status=up", headers=auth)
        assert ok.status_code == 200
        before = cache.misses
        for i in range(50):
            client.get(f"/api/v1/checks?environment=production&junk={i}", headers=auth)
        assert cache.misses - before <= 1


NAME = "api/v1 health?#"

CONFIG = f"""
storage: "sqlite:///{{db}}"
checks:
  - {{name: "{NAME}", type: tcp, host: 127.0.0.1, port: 9, interval: 1h}}
  - {{name: "../metrics", type: tcp, host: 127.0.0.1, port: 9, interval: 1h}}
serve: {{host: 127.0.0.1, port: {{port}}, token: "{TOKEN}"}}
"""


def test_a_check_name_with_a_slash_can_be_opened(tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serve(tmp_path, CONFIG) as srv:
        for name in (NAME, "../metrics"):
            quoted = urllib.parse.quote(name, safe="")
            got = srv.get(f"/api/v1/checks/{quoted}", headers=auth)
            assert got.status == 200, got.body
            assert got.json()["name"] == name
            ran = srv.get(f"/api/v1/checks/{quoted}/run", method="POST", headers=auth, timeout=30)
            assert ran.status == 200, ran.body
        _, cookies = login(srv, TOKEN)
        cookie = {"Cookie": f"prodshield_session={session_of(cookies)}"}
        page = srv.get("/dashboard", headers=cookie).body.decode()
        links = re.findall(r'href="(/dashboard/checks/[^"]+)"', page)
        assert len(links) == 2, page[:3000]
        for link in links:
            opened = srv.get(link, headers=cookie)
            assert opened.status == 200, (link, opened.body[:200])
        assert any(
            NAME.replace("&", "&amp;") in srv.get(link, headers=cookie).body.decode()
            for link in links
        )
