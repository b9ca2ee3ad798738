"""The status banner's breakdown ("5 services · 1 down · 4 up") shows only when the services are
not all in one state: otherwise the headline's detail ("4 of 4 services up") already says it."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from prodshield.config import parse_config
from prodshield.store import open_store
from prodshield.web.app import create_app
from support.pages import part
from support.web_seed import TOKEN

ONE = """
storage: sqlite:///unused.db
checks:
  - {name: website, type: http, url: "http://127.0.0.1:9/", interval: 1h}
  - {name: api, type: http, url: "http://127.0.0.1:9/api", interval: 1h}
"""


def _banner(html: str) -> str:
    return part(html, r'<section class="banner.*?</section>')


def test_one_state_has_no_breakdown_and_mixed_states_have_one(
    client: TestClient, tmp_path: Path
) -> None:
    mixed = _banner(client.get("/").text)  # the seeded store: an outage beside services up
    assert 'class="breakdown"' in mixed
    assert re.search(r"\d+ services\s*· <span class=\"pill", mixed), mixed

    empty = open_store(f"sqlite:///{tmp_path / 'empty.db'}")  # no result yet: both unknown
    try:
        one = tmp_path / "one" / "shield.yaml"
        one.parent.mkdir()
        one.write_text(ONE)
        loaded = parse_config(ONE, name=str(one), env={}, fs_path=one)
        with TestClient(create_app(loaded, empty, token=TOKEN)) as other:
            alone = _banner(other.get("/").text)
    finally:
        empty.close()
    assert 'class="breakdown"' not in alone and "pill" not in alone, alone
    assert re.search(r'class="headline-detail">[^<]*\d', alone), alone
