"""Journey: an operator runs ``prodshield logs parse`` on a production log holding credentials
(GitHub, AWS, Slack, a JWT, a ``password=`` pair, their own format from shield.yaml). Nothing is
printed whole by default, in the lean entry, the full CLI (config present) and stdin streaming
alike; ``--no-redact`` prints the lines as they are; a line's terminal escapes stay escaped."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support import secrets_tokens as tok

RULES = """\
audit:
  secrets:
    rules:
      - id: acme-api-key
        pattern: "acme_[a-z0-9]{32}"
        min_entropy: 3.0
        severity: critical
"""


def _secrets() -> dict[str, str]:
    return {
        "github": tok.github_classic(),
        "aws": tok.aws_id(),
        "slack": tok.slack_bot(),
        "jwt": tok.jwt(),
        "password": "Zq8" + tok.rand(13),
        "custom": "acme_" + tok.rand(32, "abcdefghijklmnopqrstuvwxyz0123456789"),
    }


def _log(s: dict[str, str]) -> str:
    return (
        f"2026-12-04 10:00:01 INFO user login ok token={s['github']} from 10.0.0.1\n"
        f"2026-12-04 10:00:02 INFO user login ok token={tok.github_classic()} from 10.0.0.2\n"
        f"2026-12-04 10:00:03 WARN aws client created with key {s['aws']}\n"
        f"2026-12-04 10:00:04 INFO posting to slack with {s['slack']}\n"
        f"2026-12-04 10:00:05 INFO request bearer {s['jwt']} accepted\n"
        f"2026-12-04 10:00:06 ERROR db connect failed user=app password={s['password']}\n"
        f"2026-12-04 10:00:07 ERROR partner rejected {s['custom']}\n"
        "2026-12-04 10:00:08 INFO plain line \x1b]0;pwned\x07 with \u202e bidi\n"
    )


def _run(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "logs", "parse", *args],
        cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("log_format", ["raw", "auto"])
@pytest.mark.parametrize("config", [False, True], ids=["lean", "with-config"])
def test_parse_masks_every_token_and_no_redact_prints_them(
    tmp_path: Path, log_format: str, config: bool
) -> None:
    s = _secrets()
    (tmp_path / "app.log").write_text(_log(s))
    if config:
        (tmp_path / "shield.yaml").write_text(RULES)
    proc = _run(tmp_path, "app.log", "--log-format", log_format, "--output", "jsonl")
    assert proc.returncode == 0, proc.stderr
    events = _events(proc.stdout)
    assert len(events) == 8
    for name, value in s.items():
        if name == "custom" and not config:
            continue  # only shield.yaml knows this format
        assert value not in proc.stdout, f"{name} printed whole"
    assert "password=***" in events[5]["message"]
    if config:
        assert s["custom"] not in proc.stdout
    # the escapes of the last line are not printed raw (JSON keeps them as \u escapes)
    assert "\x1b" not in proc.stdout and "\u202e" not in proc.stdout
    assert str(events[7]["message"]).endswith("plain line \x1b]0;pwned\x07 with \u202e bidi")

    raw = _run(tmp_path, "app.log", "--log-format", log_format, "--no-redact")
    assert raw.returncode == 0, raw.stderr
    for value in s.values():
        assert value in raw.stdout
    # grouping does not depend on redaction: the same template ids line for line
    assert [e["template_id"] for e in _events(raw.stdout)] == [e["template_id"] for e in events]


def test_stdin_stream_masks_too(tmp_path: Path) -> None:
    s = _secrets()
    proc = _run(tmp_path, "-", "--log-format", "raw", stdin=_log(s))
    assert proc.returncode == 0, proc.stderr
    assert len(_events(proc.stdout)) == 8
    for name, value in s.items():
        if name != "custom":
            assert value not in proc.stdout, f"{name} printed whole"
    raw = _run(tmp_path, "-", "--log-format", "raw", "--no-redact", stdin=_log(s))
    assert s["github"] in raw.stdout


def test_json_log_fields_and_params_are_masked(tmp_path: Path) -> None:
    s = _secrets()
    lines = [
        {"level": "info", "msg": f"login token={s['github']}", "password": s["password"]},
        {"level": "info", "msg": "deploy done", "api_key": s["custom"], "slack": s["slack"]},
    ]
    (tmp_path / "app.log").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (tmp_path / "shield.yaml").write_text(RULES)
    proc = _run(tmp_path, "app.log")
    assert proc.returncode == 0, proc.stderr
    for name, value in s.items():
        assert value not in proc.stdout, f"{name} printed whole"
    first, second = _events(proc.stdout)
    assert first["fields"]["password"] == "***"
    assert re.fullmatch(r"acme…\[[0-9a-f]{8}\]", second["fields"]["api_key"])  # the rule's mask
    assert all(s["github"] not in p for p in first["params"])
