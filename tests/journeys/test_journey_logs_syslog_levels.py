"""Journey: RFC 3164 syslog lines written to a file carry no PRI, so no level was read and
``logs scan`` reported none of their errors (``Dec  7 04:00:01 web1 app[123]: ERROR payment
failed`` gave no finding). Now the PRI, when there is one, gives the level (PRI % 8: 3 is err),
and without one the level word a program writes at the start of its message does, as the python
format reads it (``ERROR ...``, OpenSSH's ``error: ...``, ``[ERROR] ...``)."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env

LINES = [
    "Dec  7 04:00:01 web1 app[123]: ERROR payment failed for order 17",
    "Dec  7 04:00:02 web1 app[123]: ERROR payment failed for order 18",
    "<11>Dec  7 04:00:03 web1 app[123]: card processor unreachable",  # user.err
    "<14>Dec  7 04:00:04 web1 app[123]: ERROR but the PRI says info",  # the PRI decides
    "Dec  7 04:00:05 web1 sshd[42]: error: kex_exchange_identification: banner line too long",
    "Dec  7 04:00:06 web1 worker[9]: [CRITICAL] queue lost its broker",
    "Dec  7 04:00:07 web1 app[123]: Errors are counted below",  # not a level word
    "Dec  7 04:00:08 web1 app[123]: INFO payment accepted",
]


def test_syslog_errors_are_read_from_the_pri_or_the_message(tmp_path: Path) -> None:
    (tmp_path / "messages").write_text("\n".join(LINES) + "\n")
    out = prodshield(
        tmp_path, "logs", "scan", "messages", "--format", "json", "--no-store", env=wide_env()
    )
    assert out.returncode == 1, out.stderr  # error_logged is in the critical category
    found = {
        f["source"]["template"]: (f["severity"], f["count"])
        for f in json.loads(out.stdout)["findings"]
        if f["kind"] == "error_logged"
    }
    assert found == {
        "ERROR payment failed for order <*>": ("medium", 2),
        "card processor unreachable": ("medium", 1),
        "error: kex_exchange_identification: banner line too long": ("medium", 1),
        "[CRITICAL] queue lost its broker": ("high", 1),
    }, found

    parsed = prodshield(tmp_path, "logs", "parse", "messages", "--output", "jsonl")
    assert parsed.returncode == 0, parsed.stderr
    levels = [json.loads(line)["level"] for line in parsed.stdout.splitlines()]
    assert levels == ["error", "error", "error", "info", "error", "critical", None, "info"]
