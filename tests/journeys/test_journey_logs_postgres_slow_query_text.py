"""Journey: a PostgreSQL slow query of the extended protocol (``log_min_duration_statement``):
``duration: ... execute S_1: SELECT ...`` with tab-indented continuation lines, then the usual
``DETAIL:  parameters: $1 = '42'`` record with its own log_line_prefix. The digest's slowest
query is the statement and its indented lines only (the DETAIL record is not glued onto it), and
its bind placeholder reads ``$1`` as written (it read ``$?``)."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, shell_env

PREFIX = "2026-12-07 04:20:{s:02d}.512 UTC [4242] app@shop"


def _log() -> str:
    out = []
    for s in range(3):
        p = PREFIX.format(s=s * 5)
        out += [
            f"{p} LOG:  duration: 1834.512 ms  execute S_1: SELECT o.id, o.total\n",
            "\tFROM orders o\n",
            "\tWHERE o.customer_id = $1 AND o.total > 100\n",
            f"{p} DETAIL:  parameters: $1 = '{42 + s}'\n",
        ]
    return "".join(out)


def test_the_detail_record_is_not_part_of_the_query(tmp_path: Path) -> None:
    (tmp_path / "pg.log").write_text(_log())
    env = shell_env(drop=("PRODSHIELD_",), COLUMNS="200", NO_COLOR="1")
    parse = prodshield(tmp_path, "logs", "parse", "pg.log", env=env)
    assert parse.returncode == 0, parse.stderr
    first = json.loads(parse.stdout.splitlines()[0])
    assert first["fields"]["query"] == (
        "SELECT o.id, o.total\nFROM orders o\nWHERE o.customer_id = $1 AND o.total > 100"
    )
    assert first["fields"]["detail"] == "parameters: $1 = '42'"
    assert first["fields"]["duration_ms"] == 1834.512

    digest = prodshield(
        tmp_path, "logs", "digest", "pg.log", "--no-store", "--format", "json", env=env
    )
    assert digest.returncode == 0, digest.stderr
    queries = json.loads(digest.stdout)["performance"]["slowest_queries"]
    assert [q["query"] for q in queries] == [
        "SELECT o.id, o.total FROM orders o WHERE o.customer_id = $1 AND o.total > ?"
    ], queries
    markdown = prodshield(tmp_path, "logs", "digest", "pg.log", "--no-store", env=env).stdout
    assert "o.customer_id = $1 AND o.total > ?" in markdown and "DETAIL" not in markdown
