"""Journey: `chaos toxic list` never splits a toxic's name or type, at any terminal width.

At 80 and 100 columns the list broke names and types inside the word (`oversized_` /
`headers_` / `downstream`), and only at 60 columns did it move the attributes to lines of their
own, in a table 69 characters wide. Names, types and streams are now whole (they are what
`toxic remove` and `-t` take): the attributes go to `attributes:` lines first, and on a terminal
narrower than the row the rightmost columns follow them (`toxicity: 1`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.chaos_proxy import ProxyThread

NAMES = ["http_status_downstream", "oversized_headers_downstream"]


@pytest.fixture
def proxy() -> Iterator[ProxyThread]:
    thread = ProxyThread()
    try:
        thread.create("web", "127.0.0.1:9")
        thread.toxic(
            "web", type="http_status",
            attributes={"status": 503, "method": "GET", "path": "/api/checkout/"},
        )  # fmt: skip
        thread.toxic("web", type="oversized_headers")
        yield thread
    finally:
        thread.close()


def _list(cwd: Path, api: str, columns: int) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")}
    done = subprocess.run(
        [sys.executable, "-m", "prodshield", "chaos", "toxic", "list", "web", "--api", api],
        cwd=cwd, env={**env, "COLUMNS": str(columns), "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("columns", [60, 80, 100, 120])
def test_names_and_types_stay_whole(tmp_path: Path, proxy: ProxyThread, columns: int) -> None:
    out = _list(tmp_path, proxy.url, columns)
    assert all(len(line) <= columns for line in out.splitlines()), out
    words = out.split()
    for name in NAMES:
        assert name in words, out
    assert "http_status" in words and "oversized_headers" in words, out
    assert "path=/api/checkout/" in words and "name=X-Prodshield-Padding" in words, out
    assert not any(w.endswith("_") for w in words), out  # nothing broken after a '_'


def test_narrow_terminal_moves_columns_not_letters(tmp_path: Path, proxy: ProxyThread) -> None:
    out = _list(tmp_path, proxy.url, 60)
    assert "attributes: status=503," in out, out
    header = out.splitlines()[0].split()
    assert header[:2] == ["name", "type"], out
