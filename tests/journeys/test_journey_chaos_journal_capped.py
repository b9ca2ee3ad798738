"""Journey: ``chaos run -c shield.yaml`` (a subprocess) with an ``http`` probe that fetches a 5 MB
body whose last line is what the tolerance's regex looks for. The steady state is met (the
tolerance read the whole body), yet journal.json, the store row ``experiment_journals.journal`` and
``GET /api/v1/chaos/journals/{id}`` keep about 64 KiB of it and say it was cut and how big it was
(they kept all 5 MB)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from aiohttp import web

from support.cli import prodshield, wide_env
from support.serve_process import TOKEN, serve
from support.standins.loopback_app import serve_app

BODY = "x" * (5 * 1024 * 1024) + "\nall good at the end\n"
CAP = 200 * 1024  # 64 KiB kept, headers and the note around it


def _experiment(url: str) -> dict[str, object]:
    probe = {
        "type": "probe",
        "name": "big-page",
        "tolerance": {"type": "regex", "pattern": "all good at the end", "target": "body"},
        "provider": {"type": "http", "url": f"{url}/big", "timeout": 10},
    }
    return {
        "version": "1.0.0",
        "title": "a big page",
        "description": "a 5 MB body",
        "steady-state-hypothesis": {"title": "the page ends well", "probes": [probe]},
        "method": [dict(probe, name="big-page-again", tolerance=None)],
    }


def _check_entry(entry: dict[str, object]) -> None:
    output = entry["output"]
    assert isinstance(output, dict) and output["status"] == 200, entry
    body = output["body"]
    assert isinstance(body, str) and body.startswith("xxxx"), body[:100]
    assert f"[cut by prodshield: {len(BODY):,} bytes, the first 65,536 kept]" in body, body[-200:]
    assert len(body) < CAP
    truncated = entry["output_truncated"]
    assert isinstance(truncated, dict) and truncated["size"] > 5_242_880, truncated
    assert truncated["kept"] < CAP, truncated
    assert entry["status"] == "succeeded" and "activity" in entry and "duration" in entry


def test_a_5mb_probe_body_is_cut_in_the_journal_but_judged_whole(tmp_path: Path) -> None:
    async def big(request: web.Request) -> web.Response:
        return web.Response(text=BODY)

    def setup(app: web.Application) -> None:
        app.router.add_get("/big", big)

    config = f'storage: sqlite:///{tmp_path / "store.db"}\nserve: {{port: 0, token: "{TOKEN}"}}\n'
    (tmp_path / "shield.yaml").write_text(config)
    with serve_app(setup) as url:
        (tmp_path / "experiment.json").write_text(json.dumps(_experiment(url)))
        run = prodshield(
            tmp_path, "chaos", "run", "experiment.json", "-c", "shield.yaml",
            "--journal-path", "journal.json", env=wide_env(),
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr

    path = tmp_path / "journal.json"
    assert path.stat().st_size < 4 * CAP, path.stat().st_size
    journal = json.loads(path.read_text())
    [probe] = journal["steady_states"]["before"]["probes"]
    assert probe["tolerance_met"] is True
    _check_entry(probe)
    _check_entry(journal["run"][0])

    with sqlite3.connect(tmp_path / "store.db") as db:
        [(stored,)] = db.execute("SELECT journal FROM experiment_journals").fetchall()
    assert len(stored) < 5 * CAP, len(stored)

    with serve(tmp_path, config) as srv:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        listing = srv.get("/api/v1/chaos/journals", headers=auth).json()
        [row] = listing["journals"] if isinstance(listing, dict) else listing
        answer = srv.get(f"/api/v1/chaos/journals/{row['id']}", headers=auth)
    assert answer.status == 200 and len(answer.body) < 5 * CAP, len(answer.body)
    assert f"[cut by prodshield: {len(BODY):,} bytes" in answer.body.decode()
