"""Journey: a hostile log line quoting HTML, ``rendered <script>alert(1)</script> in comment``,
was mined as ``rendered <script>alert(<*>)<<*>> in comment`` with the parameters ``['1',
'/script']``: the closing tag's name was taken for a path. A ``/name`` between ``<`` and ``>`` is
now kept as text; a path is still a variable (CLI as a subprocess). No Loghub-2k or labelled
line holds ``</``, so the benchmarks' templates cannot change."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env


def test_a_closing_tag_is_text_not_a_path(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(
        "rendered <script>alert(1)</script> in comment\n"
        "rendered <b>bold</b> from /var/www/html/index.html\n"
    )
    done = prodshield(tmp_path, "logs", "parse", "app.log", "--log-format", "raw", env=wide_env())
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(x) for x in done.stdout.splitlines())
    assert first["template"] == "rendered <script>alert(<*>)</script> in comment", first
    assert first["params"] == ["1"], first
    assert second["template"] == "rendered <b>bold</b> from <*>", second
