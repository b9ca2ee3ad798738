"""An nginx access log's templates are its endpoints (`GET /api/orders/<*> HTTP/1.1`), not one
`GET <*> <*>` for the whole site: through `logs templates` and `logs parse` as a user runs them,
with a blog's slugs and a scanner's guesses bounded, and the same ids in a second saved run."""

from __future__ import annotations

import json
import random
from pathlib import Path

from support.cli import prodshield, wide_env

CONFIG = "storage: sqlite:///store.db\n"


def _access_log(path: Path, seed: int) -> None:
    rng = random.Random(seed)
    lines = []
    for i in range(1500):
        pick = rng.randrange(6)
        request = [
            f"GET /api/orders/{rng.randrange(10**6)}",
            f"PUT /api/carts/{rng.randrange(10**4)}/items",
            f"GET /static/app.{rng.getrandbits(64):016x}.js",
            f"GET /posts/notes-on-{rng.choice('abcdefghij')}{rng.choice('klmnopqrst')}-topic",
            f"GET /search?q={rng.choice(['shoes', 'boots', 'hats'])}&page={rng.randrange(9)}",
            "POST /api/checkout",
        ][pick]
        lines.append(
            f"10.0.{i % 200}.{rng.randrange(255)} - - [06/Dec/2026:10:{i // 60 % 60:02d}:{i % 60:02d}"
            f' +0000] "{request} HTTP/1.1" 200 {rng.randrange(9000)} "-" "Mozilla/5.0"\n'
        )
    # a scanner's guesses at the site's root
    for i in range(400):
        lines.append(
            f'203.0.113.9 - - [06/Dec/2026:11:00:{i % 60:02d} +0000] "GET /{rng.choice("wxyz")}'
            f'{"".join(rng.choice("bcdfghjklm") for _ in range(6))}.php HTTP/1.1" 404 0 "-" "zgrab"\n'
        )
    path.write_text("".join(lines))


def test_an_access_logs_templates_are_its_endpoints(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    _access_log(tmp_path / "access.log", seed=1)
    out = prodshield(
        tmp_path,
        "logs",
        "templates",
        "access.log",
        "-n",
        "500",
        "--format",
        "json",
        env=wide_env(),
    )
    assert out.returncode == 0, out.stderr
    templates = {t["template"]: t for t in json.loads(out.stdout)["templates"]}
    for endpoint in (
        "GET /api/orders/<*> HTTP/1.1",
        "PUT /api/carts/<*>/items HTTP/1.1",
        "GET /static/<*> HTTP/1.1",
        "GET /search?q=<*>&page=<*> HTTP/1.1",
        "POST /api/checkout HTTP/1.1",
    ):
        assert endpoint in templates, sorted(templates)
    assert "GET <*> <*>" not in templates
    # 100 slugs: the first 50 are pages, the rest one template; 400 scanner paths do the same
    assert "GET /posts/<*> HTTP/1.1" in templates and "GET /<*> HTTP/1.1" in templates
    assert len(templates) <= 5 + 51 + 51, len(templates)

    # logs parse gives every line its endpoint's id and the values behind the <*>
    parsed = prodshield(tmp_path, "logs", "parse", "access.log", env=wide_env())
    assert parsed.returncode == 0, parsed.stderr
    rows = [json.loads(line) for line in parsed.stdout.splitlines()]
    orders = [r for r in rows if r["fields"]["path"].startswith("/api/orders/")]
    assert orders and {r["template_id"] for r in orders} == {
        templates["GET /api/orders/<*> HTTP/1.1"]["id"]
    }
    assert orders[0]["params"] == [orders[0]["fields"]["path"].rsplit("/", 1)[1]]


def _saved_ids(tmp_path: Path) -> dict[str, str]:
    """`logs templates access.log --save`: each template's id."""
    out = prodshield(
        tmp_path,
        "logs",
        "templates",
        "access.log",
        "--save",
        "-n",
        "500",
        "--format",
        "json",
        env=wide_env(),
    )
    assert out.returncode == 0, out.stderr
    return {t["template"]: t["id"] for t in json.loads(out.stdout)["templates"]}


def test_saved_endpoint_ids_stay_the_same_in_the_next_run(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    _access_log(tmp_path / "access.log", seed=1)
    ids = _saved_ids(tmp_path)
    _access_log(tmp_path / "access.log", seed=2)  # the next day's log: other ids, other slugs
    again = _saved_ids(tmp_path)
    for endpoint in ("GET /api/orders/<*> HTTP/1.1", "POST /api/checkout HTTP/1.1"):
        assert again[endpoint] == ids[endpoint]
    # the endpoints stay apart after the saved state is read back
    assert "GET <*> <*>" not in again and "GET <*> HTTP/1.1" not in again
