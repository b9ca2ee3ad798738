"""docs/web.md's table of pages and endpoints names exactly the routes the app serves."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Mount, Route

from prodshield.config import parse_config
from prodshield.store import open_store
from prodshield.web.app import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"


def _app_paths(tmp_path: Path) -> set[str]:
    """The paths of the app ``serve`` runs (static files aside), parameters named as in the doc."""
    store = open_store(f"sqlite:///{tmp_path / 'prodshield.db'}")
    try:
        app = create_app(parse_config("{}\n", env={}), store, token="t" * 24)
        out = set()
        for route in app.routes:
            if isinstance(route, Route) or (isinstance(route, Mount) and route.path != "/static"):
                out.add(re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path))
        return out
    finally:
        store.close()


def _documented_paths() -> set[str]:
    """The first column's paths; in a cell that starts with an ``/api/v1/...`` path, the paths
    after it are under ``/api/v1`` too."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Pages and endpoints") :]
    table = table[: table.index("\n\n", table.index("| path |"))]
    out: set[str] = set()
    for row in table.splitlines()[2:]:
        spans = [s.split(" ", 1)[-1] for s in re.findall(r"`([^`]*)`", row.split("|")[1])]
        base = ""
        for path in spans:
            if path.startswith("/static") or not path.startswith("/"):
                continue
            if path.startswith("/api/v1/"):
                base = "/api/v1"
                out.add(path)
            elif base:
                out.add(base + path)
            else:
                out.add(path)
    return out


def test_every_documented_route_exists_and_every_route_is_documented(tmp_path: Path) -> None:
    app = _app_paths(tmp_path)
    documented = _documented_paths()
    assert documented - app == set(), "documented but not served"
    assert app - documented == set(), "served but not in docs/web.md"
