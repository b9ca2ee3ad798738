"""Journey: ``chaos run -c shield.yaml`` (a subprocess) breaks a loopback shop, whose health then
stops answering: the steady state after the method fails, the run is ``failed`` and its rollback
(repair) is skipped (the default strategy). ``serve``'s chaos page and ``/api/v1/chaos/journals``
say why the run is red: the failed probe, the steady state not met, and the rollback not played,
so the fault may still be on (the "why" column was empty and nothing said the shop was left
broken)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web

from support.cli import prodshield, wide_env
from support.serve_process import TOKEN, serve, signed_in_page
from support.standins.loopback_app import serve_app


def _experiment(url: str) -> dict[str, object]:
    health = {"type": "http", "url": f"{url}/health", "timeout": 1}
    return {
        "version": "1.0.0",
        "title": "the shop survives a broken cache",
        "description": "break, then look",
        "steady-state-hypothesis": {
            "title": "the shop answers",
            "probes": [
                {"type": "probe", "name": "shop-health", "tolerance": 200, "provider": health}
            ],
        },
        "method": [
            {
                "type": "action",
                "name": "break-cache",
                "provider": {"type": "http", "url": f"{url}/break", "method": "POST"},
            }
        ],
        "rollbacks": [
            {
                "type": "action",
                "name": "repair-cache",
                "provider": {"type": "http", "url": f"{url}/repair", "method": "POST"},
            }
        ],
    }


def test_a_red_run_says_why_on_the_chaos_page(tmp_path: Path) -> None:
    state = {"broken": False}

    async def health(request: web.Request) -> web.Response:
        if state["broken"]:
            await asyncio.sleep(5)  # past the probe's 1 s timeout
        return web.Response(text="ok")

    async def set_broken(request: web.Request) -> web.Response:
        state["broken"] = request.path == "/break"
        return web.Response(text="done")

    def setup(app: web.Application) -> None:
        app.router.add_get("/health", health)
        app.router.add_post("/break", set_broken)
        app.router.add_post("/repair", set_broken)

    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    config = f'storage: sqlite:///{{db}}\nserve: {{port: {{port}}, token: "{TOKEN}"}}\n'
    (srv_dir / "shield.yaml").write_text(
        config.replace("{db}", str(srv_dir / "store.db")).replace("{port}", "0")
    )
    with serve_app(setup) as url:
        (srv_dir / "experiment.json").write_text(json.dumps(_experiment(url)))
        run = prodshield(
            srv_dir, "chaos", "run", "experiment.json", "-c", "shield.yaml", env=wide_env()
        )
        assert run.returncode == 1, run.stdout + run.stderr
        assert state["broken"], run.stderr  # the rollback was not played

    with serve(srv_dir, config) as srv:
        answer = srv.get("/api/v1/chaos/journals", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status == 200
        data = answer.json()
        [row] = data["journals"] if isinstance(data, dict) else data
        assert row["status"] == "failed", row
        reason = row["reason"]
        assert "probe shop-health failed: " in reason, reason
        assert "steady state not met after the method" in reason, reason
        assert "1 rollback not played (the faults may still be in place)" in reason, reason
        page = signed_in_page(srv, "/dashboard/chaos")
    assert "probe shop-health failed" in page and "1 rollback not played" in page
