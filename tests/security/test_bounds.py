"""Parsing is bounded (issue 18): YAML aliases and depth, JSON depth, finding and condition sizes.

Before the fix a 363-byte YAML alias bomb made `config check` use 3 GB in 38 s (and froze `serve`
on a SIGHUP reload), the API and the chaos proxy API answered 500 to deeply nested JSON, and a
finding could carry a 1 MiB message.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from prodshield.config import load_config
from prodshield.errors import ConfigError
from prodshield.logs.findings import MAX_MESSAGE, LogFinding
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web import create_app
from support.chaos_proxy import ProxyThread
from support.web_seed import TOKEN, loaded_config, seed

# 363 bytes; composed, it is 9^9 (387 million) strings.
BOMB = textwrap.dedent(
    """\
    storage: sqlite:///state.db
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    """
)
ONE_GB = 1 << 30


def _limited() -> None:
    """The child gets 1 GiB of address space: a bomb dies there instead of taking the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (ONE_GB, ONE_GB))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        preexec_fn=_limited,
    )


def test_config_check_refuses_an_alias_bomb_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(BOMB)
    out = _cli("config", "check", "-c", "shield.yaml", cwd=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    line = out.stderr.splitlines()[0]
    assert line.startswith("shield.yaml:7:") and "alias" in line


def test_deep_nesting_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text("checks: " + "[" * 5000 + "]" * 5000 + "\n")
    out = _cli("config", "check", "-c", "shield.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "shield.yaml:1" in out.stderr and "nested" in out.stderr


def test_reload_path_refuses_the_bomb(tmp_path: Path) -> None:
    """`serve` reloads on SIGHUP through load_config: the bomb is a ConfigError there too."""
    path = tmp_path / "shield.yaml"
    path.write_text(BOMB)
    with pytest.raises(ConfigError, match=r"shield\.yaml:\d+:\d+: .*alias"):
        load_config(path)


def test_audit_skips_an_alias_bomb_in_an_audited_tree(tmp_path: Path) -> None:
    tree = tmp_path / "app"
    tree.mkdir()
    (tree / "values.yaml").write_text(BOMB)
    (tree / "ok.yaml").write_text("image: nginx\n")
    out = _cli("audit", str(tree), "--format", "json", cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr[-2000:]
    json.loads(out.stdout)


def test_condition_length_is_limited(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        textwrap.dedent(
            f"""\
            storage: sqlite:///state.db
            checks:
              - name: api
                type: http
                url: http://127.0.0.1:9/
                conditions:
                  - "[BODY] == {"x" * 5000}"
            """
        )
    )
    out = _cli("config", "check", "-c", "shield.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "shield.yaml:7" in out.stderr and "1,000 characters" in out.stderr


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    seed(store)
    app = create_app(loaded_config(tmp_path), store, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def test_api_answers_400_to_deeply_nested_json(client: TestClient, store: Store) -> None:
    with store.connect() as conn:
        incident = conn.execute(select(t.incidents.c.id)).scalars().first()
    for depth in (100, 100_000):
        r = client.post(
            f"/api/v1/incidents/{incident}/notes",
            content=b'{"text": ' + b"[" * depth + b"]" * depth + b"}",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert r.status_code == 400, (depth, r.text[:300])
        assert "nested" in r.json()["error"]


def test_chaos_proxy_api_answers_400_to_deeply_nested_json() -> None:
    proxy = ProxyThread()
    try:
        for depth in (100, 100_000):
            status, _, body = proxy.request(
                "POST", "/proxies", b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
            )
            assert status == 400, (depth, body[:300])
            assert b"nested" in body
    finally:
        proxy.close()


def test_a_finding_cannot_carry_a_one_mebibyte_message(tmp_path: Path) -> None:
    finding = LogFinding(
        "critical", "db", "high", message="x" * (1 << 20), samples=["y" * (1 << 20)]
    )
    finding.details["template"] = "z" * (1 << 20)
    finding.seal()
    assert len(finding.message) <= MAX_MESSAGE and len(finding.samples[0]) <= 500
    assert len(finding.details["template"]) <= MAX_MESSAGE
    # The same through the CLI: one huge error line.
    log = tmp_path / "app.log"
    log.write_text(f"2026-12-04 10:00:00,000 ERROR app: payment failed {'q' * (1 << 20)}\n")
    out = _cli("logs", "scan", str(log), "--format", "json", cwd=tmp_path)
    findings = json.loads(out.stdout)["findings"]
    assert findings
    assert all(len(json.dumps(f)) < 20_000 for f in findings)


def test_a_target_answering_deeply_nested_json_fails_its_condition(tmp_path: Path) -> None:
    """Before: `monitor once` stopped with "internal error: RecursionError"."""
    from aiohttp import web

    from support.standins.loopback_app import serve_app

    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"

    async def health(request: web.Request) -> web.Response:
        return web.Response(text=deep, content_type="application/json")

    def setup(app: web.Application) -> None:
        app.router.add_get("/health", health)

    with serve_app(setup) as url:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///state.db\nchecks:\n"
            f"  - {{name: api, type: http, url: '{url}/health', conditions: ['[BODY].a == 1']}}\n"
        )
        out = _cli("monitor", "once", "-c", "shield.yaml", "--format", "json", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    [result] = json.loads(out.stdout)["results"]
    assert result["error"]["kind"] == "condition"
