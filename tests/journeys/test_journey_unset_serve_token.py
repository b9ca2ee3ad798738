"""Journey: only `serve` needs its tokens.

shield.yaml has the documented ``serve: {token: "${PRODSHIELD_TOKEN}"}`` and a named user token
``${ALICE_TOKEN}``. With neither exported, the read-only commands (`incident list`, `monitor
status`, `notify status`, `db status`, `audit DIR`, `status build`) and `notify flush` work (each
exited 2 on the unset token before), and `status build` does not refuse a short token it never
serves with; `serve` and `config check` still stop with the file:line error, for an unset token
and for a short one."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, wide_env

CONFIG = (
    "storage: sqlite:///store.db\n"
    "serve:\n"
    '  token: "${PRODSHIELD_TOKEN}"\n'
    '  users: {alice: "${ALICE_TOKEN}"}\n'
    "checks:\n"
    "  - name: api\n"
    "    type: http\n"
    "    url: http://127.0.0.1:9/health\n"
)


def test_only_serve_needs_its_tokens(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "app.py").write_text("print('hello')\n")
    without = {k: v for k, v in wide_env().items() if k not in ("PRODSHIELD_TOKEN", "ALICE_TOKEN")}
    for args in (
        ("incident", "list"),
        ("monitor", "status"),
        ("notify", "status"),
        ("db", "status"),
        ("audit", "site"),
        ("status", "build", "--out", "public"),
        ("notify", "flush", "--wait", "1s"),
    ):
        done = prodshield(tmp_path, *args, env=without)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "is not set" not in done.stderr, (args, done.stderr)
    short = {**without, "PRODSHIELD_TOKEN": "x", "ALICE_TOKEN": "y"}
    built = prodshield(tmp_path, "status", "build", "--out", "public", env=short)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "public" / "index.html").is_file()

    for command in (["serve"], ["config", "check"]):
        unset = prodshield(tmp_path, *command, env=without, timeout=60)
        assert unset.returncode == 2, (command, unset.stdout, unset.stderr)
        assert (
            "shield.yaml:3:10: serve.token: environment variable PRODSHIELD_TOKEN is not set"
            in unset.stderr
        ), unset.stderr
        refused = prodshield(tmp_path, *command, env=short, timeout=60)
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert "shield.yaml:3:3: serve.token: token is too short (1 characters" in refused.stderr
        assert "users.alice: token is too short" in refused.stderr
