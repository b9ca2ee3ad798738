"""Journey: a FILE that shield.yaml's ``logs.sources`` names with its own layout (an nginx
``log_format``) is read in that layout by ``logs templates FILE`` and ``logs parse FILE``, as
``logs scan FILE`` reads it (docs/logs.md, Formats); ``--log-format`` still reads it in the
format it names. ``templates`` and ``parse`` detected a format instead and read the line whole."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, shell_env

CONFIG = (
    "logs:\n"
    "  sources:\n"
    "    - name: odd\n"
    "      path: odd.log\n"
    "      log_format: '$status $request_time $remote_addr \"$request\"'\n"
)


def _folder(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    (tmp_path / "odd.log").write_text(
        "".join(f'500 0.010 10.0.0.{i} "POST /api/checkout/{i} HTTP/1.1"\n' for i in range(6))
    )
    return shell_env(drop=("PRODSHIELD_",))


def test_templates_of_a_named_file_use_its_sources_layout(tmp_path: Path) -> None:
    env = _folder(tmp_path)
    out = prodshield(tmp_path, "logs", "templates", "odd.log", "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    templates = json.loads(out.stdout)["templates"]
    # the request is the message, its template the endpoint; the status, time and address are
    # fields, not <*>
    assert [(t["template"], t["count"]) for t in templates] == [
        ("POST /api/checkout/<*> HTTP/1.1", 6)
    ], templates


def test_parse_of_a_named_file_uses_its_sources_layout(tmp_path: Path) -> None:
    env = _folder(tmp_path)
    for extra in ((), ("--no-redact",)):  # --no-redact took the lean entry, which read no config
        out = prodshield(tmp_path, "logs", "parse", "odd.log", *extra, env=env)
        assert out.returncode == 0, out.stderr
        first = json.loads(out.stdout.splitlines()[0])
        assert first["message"] == "POST /api/checkout/0 HTTP/1.1", (extra, first)
        assert first["fields"]["status"] == 500 and first["fields"]["client_ip"] == "10.0.0.0"
        assert first["level"] == "error"  # a 5xx


def test_a_named_format_still_wins(tmp_path: Path) -> None:
    env = _folder(tmp_path)
    out = prodshield(tmp_path, "logs", "parse", "odd.log", "-f", "raw", "--no-redact", env=env)
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout.splitlines()[0])
    assert first["message"].startswith("500 0.010 10.0.0.0 ") and first["fields"] == {}
    out = prodshield(
        tmp_path, "logs", "templates", "odd.log", "-f", "raw", "--format", "json", env=env
    )
    assert out.returncode == 0, out.stderr
    # the whole line is the message (not a request line)
    shown = [t["template"] for t in json.loads(out.stdout)["templates"]]
    assert not any(t.startswith("POST ") for t in shown), shown
