"""`prodshield` as a user runs it: a subprocess in a folder, with a clean environment.

Journeys and CLI tests share these instead of each writing its own ``subprocess.run`` wrapper.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

INSTALLED = str(Path(sys.executable).parent / "prodshield")
"""The installed console script (what a user types), beside this interpreter."""


def shell_env(*, drop: tuple[str, ...] = ("PRODSHIELD_",), **extra: str) -> dict[str, str]:
    """This process's environment without the variables whose names start with one of ``drop``
    (the developer's own ``PRODSHIELD_CONFIG`` would change what the command reads), plus
    ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def clean_env(cwd: Path, **extra: str) -> dict[str, str]:
    """The bare environment a pipeline step gives: ``PATH``, ``HOME`` in ``cwd``, no colour, plus
    ``extra``; ``PYTHONPATH`` is kept when set, so the subprocess imports the checkout under test,
    not whatever prodshield is installed beside the interpreter."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "NO_COLOR": "1"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra)
    return env


def wide_env(**extra: str) -> dict[str, str]:
    """``shell_env`` with 200 columns and no colour: tables print whole, text compares plainly."""
    env = shell_env()
    env.update(COLUMNS="200", NO_COLOR="1")
    env.update(extra)
    return env


def prodshield(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    installed: bool = False,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``prodshield ARGS`` in ``cwd`` and capture its output as text. ``installed`` runs the
    console script instead of ``python -m prodshield``; ``env`` defaults to ``shell_env()``."""
    command = [INSTALLED] if installed else [sys.executable, "-m", "prodshield"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=dict(env) if env is not None else shell_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def grid_cell(out: str, start: str, header: str) -> str:
    """The Grid cell starting with ``start``, read down its column while it wraps (a long
    check name may): its lines' pieces joined, up to the next row (a cell under the column
    right of it, whose header is ``header``)."""
    lines = out.splitlines()
    head = next(line for line in lines if f" {header}" in line and "check" in line)
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith(start))
    left, right = lines[at].index(start), head.index(f" {header}") + 1
    pieces = [lines[at][left:right].strip()]
    for line in lines[at + 1 :]:
        if line[right : right + 1].strip() or not line[left : left + 1].strip():
            break
        pieces.append(line[left:right].strip())
    return "".join(pieces)
