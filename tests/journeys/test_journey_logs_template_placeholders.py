"""Journey: ``logs parse`` and ``logs templates`` on lines whose credentials vary. The template
keeps a ``<*>`` where each credential was (its parameter is the masked one), so a template has as
many ``<*>`` as its line has parameters; a credential the miner kept as constant text is masked."""

from __future__ import annotations

import json
from pathlib import Path

from support import secrets_tokens as tok
from support.cli import prodshield, shell_env


def test_a_template_keeps_its_placeholders_where_credentials_were(tmp_path: Path) -> None:
    tokens = [tok.github_classic() for _ in range(4)]
    passwords = ["Zq8" + tok.rand(13) for _ in range(4)]
    lines = [
        f"user login token={t} password={p} from 10.0.0.{i}\n"
        for i, (t, p) in enumerate(zip(tokens, passwords, strict=True))
    ]
    lines += [f"GET /api/orders?access_token={t} HTTP/1.1\n" for t in tokens]
    lines += [f"request Authorization: Bearer {tok.jwt()}\n" for _ in range(3)]
    (tmp_path / "app.log").write_text("".join(lines))
    env = shell_env(drop=("PRODSHIELD_",))

    parsed = prodshield(tmp_path, "logs", "parse", "app.log", "--log-format", "raw", env=env)
    assert parsed.returncode == 0, parsed.stderr
    for secret in tokens + passwords:
        assert secret not in parsed.stdout
    events = [json.loads(line) for line in parsed.stdout.splitlines()]
    templates = {e["template"] for e in events}
    assert templates == {
        "user login token=<*> password=<*> from <*>",
        "GET /api/orders?access_token=<*> HTTP/1.1",
        "request Authorization: Bearer <*>",
    }, templates
    for e in events:
        assert e["template"].count("<*>") == len(e["params"]), e

    mined = prodshield(
        tmp_path, "logs", "templates", "app.log", "--log-format", "raw", "--format", "json", env=env
    )
    assert mined.returncode == 0, mined.stderr
    shown = {t["template"] for t in json.loads(mined.stdout)["templates"]}
    assert "user login token=<*> password=<*> from <*>" in shown, shown
