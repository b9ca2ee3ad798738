"""Journey: a token written after a name (``token=ghp_...``) was masked by `logs parse` as
``token=***``, while docs/logs.md promised ``ghp_…[03aafb02]`` and `logs scan` listed the leak as
``ghp_…[84958365] at app.log:1``: the parsed line could not be matched with the finding. The
fingerprint of a token the secrets engine recognised is now kept after the name; a password
still shows nothing, not even a fingerprint (CLI as a subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

from support import secrets_tokens as tok
from support.cli import prodshield, wide_env


def test_a_named_token_keeps_the_fingerprint_scan_lists(tmp_path: Path) -> None:
    ghp = tok.github_classic()
    pw = "Zq8" + tok.rand(13)  # long enough for the engine's password rule to mask it first
    (tmp_path / "app.log").write_text(
        f"2026-12-07 10:00:01,123 INFO app: user login ok token={ghp} from 10.0.0.1\n"
        f'2026-12-07 10:00:02,123 INFO app: refresh {{"access_token": "{ghp}"}}\n'
        "2026-12-07 10:00:03,123 WARNING app: connect failed password=hunter22secret user=bob\n"
        f"2026-12-07 10:00:04,123 WARNING app: connect failed password={pw} user=ann\n"
    )
    env = wide_env()
    scan = prodshield(
        tmp_path, "logs", "scan", "app.log", "--no-store", "--format", "json", env=env
    )
    assert scan.returncode in (0, 1), scan.stderr
    leaks = [f for f in json.loads(scan.stdout)["findings"] if f["kind"] == "secret_in_log"]
    [secret] = [s for f in leaks for s in f["details"]["secrets"] if s["secret"].startswith("ghp_")]
    assert secret["places"] == ["app.log:1", "app.log:2"], secret
    masked = secret["secret"]
    assert masked.startswith("ghp_…["), masked

    parse = prodshield(tmp_path, "logs", "parse", "app.log", "--log-format", "raw", env=env)
    assert parse.returncode == 0, parse.stderr
    lines = [json.loads(x) for x in parse.stdout.splitlines()]
    assert f"token={masked} from" in lines[0]["message"], lines[0]
    assert f'"access_token": "{masked}"' in lines[1]["message"], lines[1]
    assert "password=*** user=bob" in lines[2]["message"], lines[2]
    assert "password=*** user=ann" in lines[3]["message"], lines[3]
    assert ghp not in parse.stdout and "hunter22" not in parse.stdout and pw not in parse.stdout
