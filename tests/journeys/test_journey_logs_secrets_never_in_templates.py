"""Journey: a log line holding a secret of any format the secrets engine knows (each rule's own
example, plus the shapes the redaction pass masks without a rule) never shows the secret's secret
part in a template: not in ``logs parse``, ``logs templates`` (table and JSON), ``logs scan`` or
``logs digest``, not in the store (its SQLite file's bytes: ``log_templates`` and the miner's
state), not in serve's ``/api/v1/templates`` or the dashboard's Templates panel.

The miner masked a token's digits (``xoxb-<*>-<*>-ZyXw...``) and redaction then ran on the
template, where the Slack format no longer matched: the secret part was printed, stored and
served. Each line is written three times (a retry counter varies) so the miner generalises it,
and after 600 other lines so ``logs templates`` takes its batch path.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from prodshield.secrets.rules import REGISTRY
from support import secrets_tokens as tok
from support.cli import prodshield, wide_env
from support.serve_process import TOKEN, serve, signed_in_page, wait_for

_TOKEN_END = re.compile(r"[\s\"'`,;)}\]>@]")
SHOWN = 4
"""Leading characters redaction may show (a token's known prefix)."""


def _secret_lines() -> list[tuple[str, str]]:
    """(what the line says, the secret in it): every rule's example (one line each) and the
    credential shapes masked without a rule."""
    from prodshield.secrets.engine import scan_line

    out: list[tuple[str, str]] = []
    for name, rule in REGISTRY.items():
        text = rule.example.get("text", "")
        if "\n" in text:  # a PEM block is several log records; no one line holds the key
            continue
        found = [f for f in scan_line(text) if f.rule == name]
        assert found, (name, text)
        start = (found[0].column or 1) - 1
        end = _TOKEN_END.search(text, start)
        out.append((text, text[start : end.start() if end else len(text)]))
    slack, password, aws_key = tok.slack_bot(), tok.password(), tok.aws_secret()
    cookie, jwt = tok.rand(32), tok.jwt()
    out += [
        (f"posting to slack with token {slack}", slack),
        (f'login payload {{"user": "ann", "password": "{password}"}}', password),
        (f"cache redis://:{password}x@cache.internal:6379/0 down", password + "x"),
        (f"request Cookie: session={cookie}; theme=dark", cookie),
        (f"upstream Authorization: Bearer {jwt}", jwt),
        (f"aws {tok.aws_id()} {aws_key}", aws_key),
    ]
    return out


def _log(path: Path, lines: list[tuple[str, str]]) -> None:
    hour = datetime.now(UTC).strftime("%Y-%m-%d %H")
    rows = [
        f"{hour}:00:00,{n % 1000:03d} INFO app.web: request {n} done in {n % 97} ms"
        for n in range(600)
    ]
    for k, (text, _) in enumerate(lines):
        for retry in range(3):
            rows.append(
                f"{hour}:01:{k % 60:02d},{retry:03d} ERROR app.worker: retry {retry + k} {text}"
            )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _windows(secret: str) -> set[str]:
    """Every 8 characters of ``secret`` after what redaction may show of it, but those of a
    format's fixed words (``/services/`` of a Slack webhook: no digit or capital letter)."""
    body = secret[SHOWN:]
    windows = {body[i : i + 8] for i in range(len(body) - 7)}
    return {w for w in windows if any(c.isdigit() or c.isupper() for c in w)}


def _leaks(text: str, lines: list[tuple[str, str]]) -> list[str]:
    return [secret for _, secret in lines if any(w in text for w in _windows(secret))]


def test_no_secret_part_reaches_a_template_from_the_cli(tmp_path: Path) -> None:
    lines = _secret_lines()
    assert len(lines) >= 30, len(lines)
    _log(tmp_path / "app.log", lines)
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\n")
    env = wide_env()
    runs = [
        ("logs", "parse", "app.log"),
        ("logs", "parse", "app.log", "--log-format", "raw"),
        ("logs", "templates", "app.log"),
        ("logs", "templates", "app.log", "--format", "json", "--save"),
        ("logs", "scan", "app.log", "--format", "json"),
        ("logs", "digest", "app.log", "--format", "markdown"),
    ]
    for args in runs:
        done = prodshield(tmp_path, *args, env=env)
        assert done.returncode in (0, 1), (args, done.stderr)
        assert _leaks(done.stdout + done.stderr, lines) == [], args
    # stdin: each event goes out as it is read (the streaming path)
    piped = prodshield(
        tmp_path, "logs", "parse", "-", env=env, stdin=(tmp_path / "app.log").read_text()
    )
    assert piped.returncode == 0, piped.stderr
    assert _leaks(piped.stdout, lines) == []
    # the templates say where the secret was, and each <*> has its (masked) parameter
    events = [json.loads(row) for row in piped.stdout.splitlines()]
    slack = next(e for e in events if "posting to slack" in e["message"])
    assert slack["template"].endswith("posting to slack with token <*>"), slack
    assert slack["template"].count("<*>") == len(slack["params"]), slack
    assert slack["params"][-1].startswith("xoxb…["), slack
    stored = _store_bytes(tmp_path / "store.db")
    assert b"posting to slack" in stored  # the templates were saved
    assert _leaks(stored.decode("utf-8", "replace"), lines) == []


def test_no_secret_part_reaches_serve_templates_or_its_store(tmp_path: Path) -> None:
    lines = _secret_lines()
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    _log(log, lines)
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n"
        f"    - {{name: app, path: {log}, format: python}}\n"
    )
    with serve(tmp_path / "srv", config) as srv:
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def stored() -> bool:
            body = json.dumps(srv.get("/api/v1/templates", headers=auth).json())
            return "posting to slack" in body and "upstream Authorization" in body

        wait_for("the templates of the secret lines", stored, timeout=90)
        answer = json.dumps(srv.get("/api/v1/templates?limit=500", headers=auth).json())
        assert _leaks(answer, lines) == []
        page = signed_in_page(srv, "/dashboard/logs")
        assert "posting to slack" in page
        assert _leaks(page, lines) == []
        # the miner's state is saved every few minutes and when serve stops
    data = _store_bytes(srv.db)
    assert b"posting to slack" in data
    assert _leaks(data.decode("utf-8", "replace"), lines) == []


def _store_bytes(db: Path) -> bytes:
    """The SQLite file and its write-ahead log, as they are on disk."""
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
