"""Journey: `monitor once --check A --check B --env E` runs every named check in every named
environment, and says so when a named check runs in none of them (it used to run B alone and say
nothing of A, a check without environments)."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield
from support.net import answering, http_server


def test_a_named_check_outside_the_named_environment_is_an_error_not_skipped(
    tmp_path: Path,
) -> None:
    with http_server(answering(200)) as port:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "environments:\n"
            f"  production: {{vars: {{base: 'http://127.0.0.1:{port}'}}}}\n"
            f"  staging: {{vars: {{base: 'http://127.0.0.1:{port}'}}}}\n"
            "checks:\n"
            "  - {name: web, type: http, url: '{base}/', environments: [production]}\n"
            f"  - {{name: web-direct, type: http, url: 'http://127.0.0.1:{port}/'}}\n"
            "  - {name: api, type: http, url: '{base}/api', environments: [staging]}\n",
            encoding="utf-8",
        )
        both = ("--check", "web-direct", "--check", "web", "--env", "production")
        done = prodshield(tmp_path, "monitor", "once", *both, "--format", "json")
        assert done.returncode == 2, done.stdout
        assert done.stderr.strip().splitlines() == [
            "error: check 'web-direct' runs in none of --env production (it has no environments)"
        ]
        done = prodshield(tmp_path, "monitor", "once", "--check", "api", "--env", "production")
        assert done.returncode == 2
        assert "check 'api' runs in none of --env production (its environments: staging)" in (
            done.stderr
        )
        assert "Traceback" not in done.stderr

        # the cross product: each named check where it runs, nothing said of the pairs that
        # do not exist as long as every named check runs somewhere
        done = prodshield(
            tmp_path,
            "monitor",
            "once",
            *("--check", "web", "--check", "api", "--env", "production", "--env", "staging"),
            "--format",
            "json",
        )
        assert done.returncode == 0, done.stderr
        ran = sorted((r["check"], r["environment"]) for r in json.loads(done.stdout)["results"])
        assert ran == [("api", "staging"), ("web", "production")]
        done = prodshield(tmp_path, "monitor", "once", "--check", "web-direct", "--format", "json")
        assert done.returncode == 0, done.stderr
        assert [r["check"] for r in json.loads(done.stdout)["results"]] == ["web-direct"]
