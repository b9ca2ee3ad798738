"""Deploy markers: the store module, the CLI, the API and the line on the check page's charts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from prodshield import deploys
from prodshield.errors import Invalid
from prodshield.store import Store
from prodshield.web.app import create_app
from support.web_seed import TOKEN, loaded_config, seed

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_markers_apply_to_their_service_and_environment(store: Store) -> None:
    now = time.time()
    everywhere = deploys.mark(store, "v1", at=now - 300)
    prod_shop = deploys.mark(store, "v2", environment="production", service="shop", at=now - 200)
    staging = deploys.mark(store, "v3", environment="staging", at=now - 100)

    def versions(**kw: str) -> list[str]:
        return [d.version for d in deploys.deploys(store, **kw)]  # type: ignore[arg-type]

    assert versions() == ["v3", "v2", "v1"]
    assert versions(environment="production") == ["v2", "v1"]
    assert versions(environment="production", service="billing") == ["v1"]
    assert versions(service="shop", environment="staging") == ["v3", "v1"]
    latest = deploys.latest(store, service="shop", environment="production")
    assert latest == prod_shop
    before = deploys.latest(store, service="shop", environment="production", before=now - 250)
    assert before == everywhere
    assert staging.applies_to("anything", "staging") and not staging.applies_to("x", "production")
    with pytest.raises(Invalid, match="empty"):
        deploys.mark(store, "  ")
    with pytest.raises(Invalid, match="control"):
        deploys.mark(store, "v4\x1b[31m")


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    seed(store)
    app = create_app(loaded_config(tmp_path), store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def _login(c: TestClient) -> None:
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = c.post(
        "/login",
        data={"token": TOKEN, "csrf": csrf.group(1), "next": "/dashboard"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_api_records_and_lists_markers_and_the_check_page_draws_them(
    client: TestClient,
) -> None:
    at = time.time() - 120
    r = client.post(
        "/api/v1/deploys",
        json={"version": "v2.4.0", "environment": "production", "service": "website", "at": at},
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == "v2.4.0"
    # another service's deploy is not drawn on this check's charts
    r = client.post(
        "/api/v1/deploys", json={"version": "billing-9", "service": "billing"}, headers=AUTH
    )
    assert r.status_code == 201
    assert client.post("/api/v1/deploys", json={"version": ""}, headers=AUTH).status_code == 400
    assert client.post("/api/v1/deploys", json={"version": 3}, headers=AUTH).status_code == 400
    assert client.post("/api/v1/deploys", json={"version": "v9"}).status_code == 401

    listed = client.get("/api/v1/deploys", headers=AUTH).json()["deploys"]
    assert [d["version"] for d in listed] == ["billing-9", "v2.4.0"]
    mine = client.get(
        "/api/v1/deploys", params={"service": "website", "environment": "production"}, headers=AUTH
    ).json()["deploys"]
    assert [d["version"] for d in mine] == ["v2.4.0"]
    # "new" log templates count from the newest deploy marker
    assert client.get("/api/v1/templates", headers=AUTH).json()["new_since"]["label"] == "billing-9"

    _login(client)
    page = client.get("/dashboard/checks/website").text
    production = page.split('data-environment="production"')[1].split('data-environment="')[0]
    lines = re.findall(r'<line class="deploy"[^>]*data-version="([^"]+)"', production)
    assert lines and set(lines) == {"v2.4.0"}, production[:2000]
    staging = page.split('data-environment="staging"')[1]
    assert 'class="deploy"' not in staging


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")}
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_marks_and_lists_deploys(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "checks:\n  - {name: shop, type: tcp, host: 127.0.0.1, port: 9, service: shop}\n"
    )
    done = _cli(tmp_path, "deploy", "mark", "--version", "v1.0", "--env", "production")
    assert done.returncode == 0, done.stderr
    assert "v1.0 (in production) recorded" in done.stdout
    done = _cli(
        tmp_path,
        "deploy",
        "mark",
        "--version",
        "v1.1",
        "--service",
        "shop",
        "--at",
        "2026-01-02T03:04:05Z",
        "--note",
        "hotfix",
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(_cli(tmp_path, "deploy", "list", "--format", "json").stdout)
    assert [(d["version"], d["environment"], d["service"]) for d in listed] == [
        ("v1.0", "production", ""),
        ("v1.1", "", "shop"),
    ]
    assert listed[1]["deployed_at"] == 1767323045.0 and listed[1]["note"] == "hotfix"
    table = _cli(tmp_path, "deploy", "list", "--env", "staging")
    assert "v1.1" in table.stdout and "v1.0" not in table.stdout
    bad = _cli(tmp_path, "deploy", "mark", "--version", "v2", "--at", "yesterday")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "ISO 8601" in bad.stderr
    assert "Traceback" not in bad.stderr
