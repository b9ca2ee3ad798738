"""`prodshield --help`, the first command a newcomer runs, lists every command without importing
any of them (newcomer trial: it took 1.7-3.5 s on a busy machine, 1.4 CPU-s, importing the
config schema, the store, the notifiers and the log detectors for fifteen lines of help)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import typer

_RUN = """
import contextlib, io, json, sys
sys.argv = ["prodshield", "--help"]
from prodshield.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main()
    except SystemExit:
        pass
print(json.dumps({"modules": sorted(sys.modules), "help": out.getvalue()}))
"""

HEAVY = (
    "prodshield.cli.",
    "prodshield.config",
    "prodshield.store",
    "prodshield.notify",
    "prodshield.logs",
    "prodshield.monitor",
    "prodshield.chaos",
    "prodshield.audit",
    "prodshield.web",
    "sqlalchemy",
    "pydantic",
    "aiohttp",
)


def test_each_listed_line_is_the_commands_own_help() -> None:
    from prodshield.cli.main import COMMANDS, GROUPS, LISTED, mounted

    assert list(LISTED) == [*COMMANDS, *GROUPS]
    for name in LISTED:
        command = typer.main.get_command(mounted(name)).commands[name]  # type: ignore[attr-defined]
        first = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert command.short_help is None and LISTED[name] == first, name


def test_root_help_imports_no_command() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _RUN], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(done.stdout)
    loaded = [
        m for m in seen["modules"] if m.startswith(HEAVY) and m not in ("prodshield.cli.main",)
    ]
    allowed = {"prodshield.cli.common", "prodshield.cli.help"}  # what main itself imports
    assert [m for m in loaded if m not in allowed] == []
    lines = seen["help"].splitlines()
    from prodshield.cli.main import LISTED

    for name in LISTED:  # every command listed, with the start of its help
        assert any(line.split()[:2] == [name, LISTED[name].split()[0]] for line in lines), name
