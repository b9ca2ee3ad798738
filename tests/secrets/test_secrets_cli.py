"""`prodshield audit secrets` end to end: every format, gz logs, stdin, baseline, git history, SARIF."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from prodshield.cli.main import app
from prodshield.secrets import scan_paths
from prodshield.secrets.files import ScanConfig
from prodshield.secrets.history import scan_git_history
from support import secrets_tokens as tok

runner = CliRunner()


@pytest.fixture()
def planted(tmp_path: Path) -> tuple[Path, list[str]]:
    """A small tree with secrets in several file types; returns (root, whole secret values)."""
    values = {
        "gh": tok.github_classic(),
        "npm": tok.npm_token(),
        "aws": tok.aws_id(),
        "pw": tok.password(),
        "stripe": tok.stripe_live(),
        "jwt": tok.jwt(),
        "slack": tok.slack_webhook(),
    }
    root = tmp_path / "app"
    (root / "config").mkdir(parents=True)
    (root / ".env").write_text(f"GITHUB_TOKEN={values['gh']}\nDB_PASSWORD={values['pw']}\n")
    (root / "config" / "app.yaml").write_text(
        f"aws:\n  access_key_id: {values['aws']}\nslack: {values['slack']}\n"
    )
    (root / "settings.json").write_text(
        json.dumps({"stripe_key": values["stripe"], "session": values["jwt"]})
    )
    (root / "id_rsa").write_text(tok.pem_rsa() + "\n")
    with gzip.open(root / "app.log.gz", "wt") as fh:
        fh.write("INFO start\n" * 50 + f"WARN publish with token {values['npm']}\n")
    (root / "tests").mkdir()
    (root / "tests" / "fixture.env").write_text(f"TOKEN={tok.github_classic()}\n")
    return root, list(values.values())


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "secrets", *args], input=input)
    return result.exit_code, result.stdout


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "markdown"])
def test_no_output_format_contains_a_whole_secret(
    planted: tuple[Path, list[str]], fmt: str
) -> None:
    root, values = planted
    code, out = run(str(root), "--format", fmt, "--fail-on", "none")
    assert code == 0
    assert out.strip()
    for value in values:
        assert value not in out, f"{fmt} leaks a secret"


def test_json_reports_every_planted_kind_and_skips_test_dirs(
    planted: tuple[Path, list[str]],
) -> None:
    root, _ = planted
    code, out = run(str(root), "--format", "json")
    assert code == 1  # high and critical findings fail the default gate
    doc = json.loads(out)
    kinds = {f["kind"] for f in doc["findings"]}
    assert {"github_pat_classic", "generic_password", "aws_access_key_id", "slack_webhook",
            "stripe_secret_key", "jwt", "private_key_rsa", "npm_token"} <= kinds  # fmt: skip
    assert not any("tests/" in f["path"] for f in doc["findings"])
    gz = [f for f in doc["findings"] if f["path"].endswith("app.log.gz")]
    assert gz and gz[0]["line"] == 51
    code, out = run(str(root), "--format", "json", "--include-tests")
    assert any("tests/" in f["path"] for f in json.loads(out)["findings"])


def test_fail_on_threshold(planted: tuple[Path, list[str]]) -> None:
    root, _ = planted
    env = root / ".env"
    env.write_text(f"DB_PASSWORD={tok.password()}\n")
    assert run(str(env), "--fail-on", "high")[0] == 0  # a medium generic password only
    assert run(str(env), "--fail-on", "medium")[0] == 1
    assert run(str(env), "--format", "xml")[0] != 0


def test_stdin(planted: tuple[Path, list[str]]) -> None:
    token = tok.sendgrid()
    code, out = run("-", "--format", "json", input=f"line one\nsend with {token}\n")
    (finding,) = json.loads(out)["findings"]
    assert code == 1 and finding["kind"] == "sendgrid_api_key" and finding["line"] == 2
    assert token not in out


def test_baseline_reports_only_new(planted: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, _ = planted
    baseline = tmp_path / "baseline.json"
    result = runner.invoke(
        app, ["audit", "baseline", str(root), "--output", str(baseline), "--reason", "rotated"]
    )
    assert result.exit_code == 0
    assert run(str(root), "--baseline", str(baseline), "--format", "json")[1].count('"rule"') == 0
    new = tok.gitlab()
    (root / "new.env").write_text(f"GITLAB={new}\n")
    code, out = run(str(root), "--baseline", str(baseline), "--format", "json")
    findings = json.loads(out)["findings"]
    assert code == 1 and [f["kind"] for f in findings] == ["gitlab_pat"]
    for value in planted[1]:
        assert value not in baseline.read_text()


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd,
    )  # fmt: skip


def test_suppressions_cannot_be_waved_through(tmp_path: Path) -> None:
    token, key = tok.github_classic(), tok.stripe_live()
    (tmp_path / "app.env").write_text(
        f"GITHUB_TOKEN={token}  # prodshield:allow\nSTRIPE_KEY={key}\n"
    )
    # The inline allow silences the token unless --strict.
    proc = _cli(tmp_path, "secrets", "app.env", "--format", "json")
    assert [f["kind"] for f in json.loads(proc.stdout)["findings"]] == ["stripe_secret_key"]
    proc = _cli(tmp_path, "secrets", "app.env", "--format", "json", "--strict")
    kinds = {f["kind"] for f in json.loads(proc.stdout)["findings"]}
    assert proc.returncode == 1 and kinds == {"stripe_secret_key", "github_pat_classic"}

    # A baseline needs a reason; each entry keeps it with an expiry (default: in 90 days).
    proc = _cli(tmp_path, "baseline", "app.env", "-o", "b.json")
    assert proc.returncode == 2 and "--reason" in proc.stderr and not (tmp_path / "b.json").exists()
    proc = _cli(tmp_path, "baseline", "app.env", "-o", "b.json", "--reason", "test keys, rotated")
    assert proc.returncode == 0, proc.stderr
    entries = json.loads((tmp_path / "b.json").read_text())["findings"]
    assert entries and all(e["reason"] == "test keys, rotated" and e["expires"] for e in entries)
    proc = _cli(tmp_path, "secrets", "app.env", "--format", "json", "--baseline", "b.json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []

    # An expired entry no longer suppresses and is reported.
    for entry in entries:
        entry["expires"] = "2020-01-31"
    (tmp_path / "b.json").write_text(json.dumps({"version": 2, "findings": entries}))
    proc = _cli(tmp_path, "secrets", "app.env", "--format", "json", "--baseline", "b.json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and [f["kind"] for f in report["findings"]] == ["stripe_secret_key"]
    assert report["stats"]["baseline_expired"] == 1
    assert "expired on 2020-01-31: test keys, rotated; no longer suppressed" in proc.stderr
    assert key not in proc.stdout + proc.stderr

    # Under --strict, an entry without a reason (an old baseline) is refused, one clear line.
    for entry in entries:
        entry["expires"] = "2999-01-01"
        del entry["reason"]
    (tmp_path / "b.json").write_text(json.dumps({"version": 1, "findings": entries}))
    proc = _cli(tmp_path, "secrets", "app.env", "--baseline", "b.json")
    assert proc.returncode == 0
    proc = _cli(tmp_path, "secrets", "app.env", "--baseline", "b.json", "--strict")
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "has no reason" in proc.stderr and "app.env:2" in proc.stderr


def test_gitignore_is_honoured(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("secrets.local\n")
    (repo / "secrets.local").write_text(f"TOKEN={tok.github_classic()}\n")
    (repo / "tracked.env").write_text(f"TOKEN={tok.github_classic()}\n")
    paths = {Path(f.path or "").name for f in scan_paths([repo])}
    assert paths == {"tracked.env"}
    assert {Path(f.path or "").name for f in scan_paths([repo], respect_gitignore=False)} == {
        "tracked.env",
        "secrets.local",
    }


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=Dev One", "-c", "user.email=dev@example.org", *args],
        check=True, capture_output=True,
    )  # fmt: skip


def test_git_history_finds_removed_secrets_with_commit_and_author(tmp_path: Path) -> None:
    repo = tmp_path / "hist"
    repo.mkdir()
    _git(repo, "init", "-q")
    token, key = tok.github_classic(), tok.stripe_live()
    (repo / "app.py").write_text("print('hello')\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "init")
    (repo / "app.py").write_text(f"print('hello')\nTOKEN = '{token}'\n")
    (repo / "pay.cfg").write_text(f"[stripe]\nkey = {key}\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "oops")
    (repo / "app.py").write_text("print('hello')\n")
    _git(repo, "commit", "-qam", "remove token")
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD~1"], capture_output=True, text=True
    ).stdout.strip()
    found = {f.kind: f for f in scan_git_history(repo)}
    assert set(found) == {"github_pat_classic", "stripe_secret_key"}
    gh = found["github_pat_classic"]
    assert (gh.path, gh.line, gh.commit, gh.author) == (
        "app.py",
        2,
        head,
        "Dev One <dev@example.org>",
    )
    assert found["stripe_secret_key"].line == 2
    code, out = run(str(repo), "--git", "--format", "json")
    assert code == 1 and token not in out and head in out
    # The working tree no longer holds the token: only history does.
    assert [f.kind for f in scan_paths([repo])] == ["stripe_secret_key"]


# The parts of the SARIF 2.1.0 schema (OASIS, sarif-schema-2.1.0.json) that a result log must
# satisfy: required properties, enums and minimums of every object prodshield writes.
_MESSAGE = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
}
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string"},
        "version": {"enum": ["2.1.0"]},
        "runs": {"type": "array", "items": {
            "type": "object", "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "rules": {"type": "array", "items": {
                        "type": "object", "required": ["id"],
                        "properties": {"shortDescription": _MESSAGE, "defaultConfiguration": {
                            "type": "object", "properties": {"level": {"enum": ["none", "note", "warning", "error"]}}}}}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["message"],
                    "properties": {
                        "ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": -1},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": _MESSAGE,
                        "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
                        "locations": {"type": "array", "items": {"type": "object", "properties": {
                            "physicalLocation": {"type": "object", "properties": {
                                "artifactLocation": {"type": "object", "properties": {"uri": {"type": "string"}}},
                                "region": {"type": "object", "properties": {
                                    "startLine": {"type": "integer", "minimum": 1},
                                    "startColumn": {"type": "integer", "minimum": 1}}}}}}}}}}}}}},
    },
}  # fmt: skip


def test_sarif_validates(planted: tuple[Path, list[str]]) -> None:
    root, _ = planted
    _, out = run(str(root), "--format", "sarif", "--fail-on", "none")
    doc = json.loads(out)
    jsonschema.validate(doc, SARIF_SUBSET)
    run0 = doc["runs"][0]
    rules = run0["tool"]["driver"]["rules"]
    for result in run0["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert len(run0["results"]) >= 8


def test_shield_yaml_allowlists_and_baseline(
    planted: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, _ = planted
    cfg = tmp_path / "shield.yaml"
    cfg.write_text(
        "version: 1\n"
        "audit:\n"
        f"  paths: [{json.dumps(str(root))}]\n"
        "  fail_on: critical\n"
        "  allow_rules: [jwt]\n"
        "  secrets:\n"
        "    allow_paths: ['config/*', '*.gz']\n"
        "    allow_rules: [generic-secret]\n"
    )
    code, out = run("--config", str(cfg), "--format", "json")
    findings = json.loads(out)["findings"]
    kinds = {f["kind"] for f in findings}
    assert "jwt" not in kinds and "generic_password" not in kinds
    assert not any(f["path"].endswith(("app.yaml", ".gz")) for f in findings)
    assert "github_pat_classic" in kinds
    assert code == 1  # the private key and the Stripe key are critical
    cfg.write_text(
        cfg.read_text().replace(
            "fail_on: critical", "fail_on: critical\n  exclude: ['id_rsa', 'settings.json']"
        )
    )
    assert run("--config", str(cfg))[0] == 0  # only high findings remain under a critical gate


def test_bad_input_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", "secrets", str(missing)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such file" in proc.stderr
    bad = tmp_path / "baseline.json"
    bad.write_text("{not json")
    target = tmp_path / "x.env"
    target.write_text("A=1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", "secrets", str(target), "--baseline", str(bad)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2 and "baseline is not JSON" in proc.stderr


def test_long_lines_and_blocks_keep_memory_bounded(tmp_path: Path) -> None:
    from prodshield.secrets.files import CHUNK, iter_blocks

    token = tok.github_classic()
    log = tmp_path / "big.log"
    with log.open("w") as fh:
        for i in range(40000):
            fh.write(f"2024-01-01 INFO request {i} served in 12ms path=/api/items/{i}\n")
        fh.write(f"WARN retry with token={token}\n")
    with log.open("rb") as fh:
        sizes = [len(b) for b in iter_blocks(fh, size=64 * 1024)]
    assert max(sizes) < 64 * 1024 + 200 and sum(sizes) == log.stat().st_size
    assert CHUNK <= 1 << 23
    (finding,) = list(scan_paths([log]))
    assert finding.line == 40001


def test_cli_and_library_find_the_same_secrets_on_lines_with_urls(tmp_path: Path) -> None:
    """Plain URLs (an access log's referrer) are not candidate lines for the URL rule under
    hyperscan; passwords in userinfo and tokens in query strings are still found, by the command
    line exactly as by the library, and as by the pure-Python engine that never narrows."""
    pw, pw2, gh, npm = tok.password(), tok.password(), tok.github_classic(), tok.npm_token()
    lines = [
        '10.0.0.1 - - "GET /api/orders?page=2 HTTP/1.1" 200 5 "https://shop.example.com/" "curl"',
        f"db = postgres://app:{pw}@db.internal:5432/orders",
        f'fetch "https://deploy:{pw2}@ci.example.com/hook?x=1" then http://plain.example.com/',
        f"GET https://api.example.com/v1/repos?access_token={gh}&page=2 200",
        f"registry https://registry.npmjs.org/?token={npm} mail ops@example.com",
        "see https://user@example.com/ and ftp://anonymous@ftp.example.com/pub",
        "redis://:@localhost:6379/0 http://a:b@c and mailto:x@y.z https://host:8443/path",
    ]
    log = tmp_path / "mixed.log"
    log.write_text("\n".join(lines * 3) + "\n")

    def key(path: str | None, line: int, rule: str, redacted: str, column: int) -> tuple[Any, ...]:
        return (Path(path or "").name, line, rule, redacted, column)

    proc = _cli(tmp_path, "secrets", "mixed.log", "--format", "json", "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    cli = sorted(
        key(f["path"], f["line"], f["rule"], f["redacted"], f["column"])
        for f in json.loads(proc.stdout)["findings"]
    )
    library = {
        engine: sorted(
            key(f.path, f.line, f.rule, f.redacted, f.column)
            for f in scan_paths([log], config=ScanConfig(engine=engine))
        )
        for engine in ("auto", "python")
    }
    assert cli == library["auto"] == library["python"]
    url_lines = {f[1] for f in cli if f[2] == "url-password"}
    assert url_lines >= {2, 3, 9, 10, 16, 17}
    assert len(cli) >= 3 * 4  # two passwords, the GitHub token and the npm token, three times
    assert all(secret not in proc.stdout for secret in (pw, pw2, gh, npm))
