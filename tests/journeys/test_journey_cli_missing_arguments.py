"""Journey: a command run without its argument names it as its usage line does.

``prodshield logs parse`` alone said ``missing argument 'FILE'`` under ``Usage: ... FILE...``:
the error hid that several files may be given. The error's name is now the usage line's, for an
argument taking several values and for a single one (the installed CLI, as a subprocess).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.cli import prodshield


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (("logs", "parse"), "FILE..."),
        (("audit", "tls"), "HOST:PORT..."),
        (("incident", "resolve"), "INCIDENT_ID"),
    ],
)
def test_the_missing_argument_is_named_as_the_usage_line_names_it(
    tmp_path: Path, command: tuple[str, ...], name: str
) -> None:
    usage = prodshield(tmp_path, *command, "-h", installed=True)
    assert usage.returncode == 0, usage.stderr
    line = next(ln for ln in usage.stdout.splitlines() if ln.startswith("Usage:"))
    assert re.search(rf"\[OPTIONS\] {re.escape(name)}(\s|$)", line), line

    missing = prodshield(tmp_path, *command, installed=True)
    assert missing.returncode == 2
    assert missing.stderr == (
        f"error: missing argument '{name}' (see 'prodshield {' '.join(command)} -h')\n"
    )
    assert missing.stdout == ""
