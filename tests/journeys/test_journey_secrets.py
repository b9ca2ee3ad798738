"""Journey: a developer scans a repository for leaked credentials the way CI does on a pull
request, `prodshield audit secrets` run as a subprocess on a real git repository made in a temp
dir: only the pull request's commits, custom rules from shield.yaml, encoded secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import secrets_tokens as tok


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=Dev One", "-c", "user.email=dev@example.org",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return proc.stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", message)
    return _git(repo, "rev-parse", "HEAD")


def _shield(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", "secrets", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_pull_request_range_reports_only_its_added_lines(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    repo.mkdir()
    _git(repo, "init", "-q")
    old_token, pr_token = tok.github_classic(), tok.stripe_live()
    base = _commit(repo, {"app.py": f"TOKEN = '{old_token}'\n"}, "old leak on main")
    _git(repo, "checkout", "-qb", "feature")
    first = _commit(repo, {"README.md": "# shop\n"}, "docs")
    tip = _commit(
        repo, {"README.md": "# shop\n", "pay/config.ini": f"[stripe]\n\nkey = {pr_token}\n"}, "pay"
    )

    proc = _shield(repo, ".", "--range", "main..feature", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["kind"], f["path"], f["line"], f["commit"]) for f in findings] == [
        ("stripe_secret_key", "pay/config.ini", 3, tip)
    ]
    assert pr_token not in proc.stdout and old_token not in proc.stdout

    # --since-commit REV: the commits after REV up to HEAD; the report names commit and file:line.
    proc = _shield(repo, ".", "--since-commit", base, "--format", "markdown")
    assert proc.returncode == 1 and "pay/config.ini:3:" in proc.stdout and tip[:10] in proc.stdout
    assert "app.py" not in proc.stdout
    proc = _shield(repo, ".", "--since-commit", tip, "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []
    # The whole history still holds the old leak.
    proc = _shield(repo, ".", "--git", "--format", "json")
    assert {f["path"] for f in json.loads(proc.stdout)["findings"]} == {"app.py", "pay/config.ini"}
    assert first

    # A revision that is not there, or that looks like an option: one line, exit 2.
    for bad in (["--range", "main..nope"], ["--since-commit", "--output=x"], ["--range", "main"]):
        proc = _shield(repo, ".", *bad)
        assert proc.returncode == 2, (bad, proc.stdout, proc.stderr)
        assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


SHIELD_RULES = """\
audit:
  secrets:
    rules:
      - id: acme-api-key
        pattern: "acme_[a-z0-9]{32}"
        min_entropy: 3.0
        severity: critical
        description: ACME partner API key
"""


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_custom_rule_from_shield_yaml_in_audit_secrets_audit_and_logs(tmp_path: Path) -> None:
    token = "acme_" + tok.rand(32, "abcdefghijklmnopqrstuvwxyz0123456789")
    placeholder = "acme_" + "a" * 32  # below the rule's min_entropy
    (tmp_path / "shield.yaml").write_text(SHIELD_RULES)
    app = tmp_path / "app"
    app.mkdir()
    (app / "settings.py").write_text(f"PARTNER = '{token}'\nEXAMPLE = '{placeholder}'\n")
    (tmp_path / "app.log").write_text(f"2026-12-04 10:00:00 INFO calling partner with {token}\n")

    proc = _run(tmp_path, "audit", "secrets", "app", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["rule"], f["kind"], f["severity"], f["path"], f["line"]) for f in findings] == [
        ("acme-api-key", "acme_api_key", "critical", "app/settings.py", 1)
    ]
    assert token not in proc.stdout

    # The full audit gate runs the same rule set.
    proc = _run(tmp_path, "audit", "app", "--format", "json")
    assert proc.returncode == 1 and token not in proc.stdout
    assert "acme" in proc.stdout.lower() and "settings.py" in proc.stdout

    # So does the log scanner.
    proc = _run(tmp_path, "logs", "scan", "app.log", "--format", "json")
    assert "secret_in_log" in proc.stdout and "acme-api-key" in proc.stdout, proc.stdout
    assert token not in proc.stdout

    # Without the rule nothing is found: the finding came from shield.yaml.
    (tmp_path / "shield.yaml").write_text("audit: {}\n")
    proc = _run(tmp_path, "audit", "secrets", "app", "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []


def test_bad_custom_rule_is_one_located_line(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(SHIELD_RULES.replace("[a-z0-9]{32}", "[a-z0-9{32}"))
    (tmp_path / "x.env").write_text("A=1\n")
    proc = _run(tmp_path, "audit", "secrets", "x.env")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    line = proc.stderr.splitlines()[0]
    assert line.startswith("shield.yaml:5:9: audit.secrets.rules[0].pattern: not a valid regular")
    # A pattern with no literal to prefilter on needs keywords.
    (tmp_path / "shield.yaml").write_text(SHIELD_RULES.replace("acme_[a-z0-9]", "[a-z0-9]"))
    proc = _run(tmp_path, "audit", "secrets", "x.env")
    assert proc.returncode == 2 and "keywords" in proc.stderr and "shield.yaml:4:" in proc.stderr


def test_duplicate_custom_rule_id_is_located_at_the_second_id(tmp_path: Path) -> None:
    again = SHIELD_RULES + (
        '      - id: partner-key\n        pattern: "prtn_[a-z0-9]{32}"\n'
        '      - id: acme-api-key\n        pattern: "acme2_[a-z0-9]{32}"\n'
        '      - id: github-pat-classic\n        pattern: "ghx_[a-z0-9]{32}"\n'
    )
    (tmp_path / "shield.yaml").write_text(again)
    (tmp_path / "x.env").write_text("A=1\n")
    proc = _run(tmp_path, "audit", "secrets", "x.env")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == (
        "shield.yaml:11:9: audit.secrets.rules[2].id: duplicate secret rule id 'acme-api-key' "
        "(also audit.secrets.rules[0])"
    ), proc.stderr
    assert lines[1] == (
        "shield.yaml:13:9: audit.secrets.rules[3].id: secret rule id 'github-pat-classic' "
        "is already taken by a shipped rule"
    ), proc.stderr
    assert not any(": audit.secrets: " in line for line in lines)


def test_encoded_secrets_are_decoded_and_reported_where_they_are_written(tmp_path: Path) -> None:
    import base64
    from urllib.parse import quote

    gh, stripe, slack = tok.github_classic(), tok.stripe_live(), tok.slack_webhook()
    password = "Zq8!vR2#mK9$wL4x@p"
    escaped = "".join(f"\\u{ord(c):04x}" for c in gh[:4]) + gh[4:]  # "\u0067\u0068\u0070\u005f..."
    b64 = base64.b64encode(stripe.encode()).decode()
    repo = tmp_path / "deploy"
    repo.mkdir()
    _git(repo, "init", "-q")
    _commit(repo, {"README.md": "# deploy\n"}, "init")
    tip = _commit(
        repo,
        {
            "config/app.json": '{\n  "name": "shop",\n  "token": "' + escaped + '"\n}\n',
            "app.env": f"DATABASE_URL=postgres://shop:{quote(password, safe='')}@db:5432/shop\n",
            "k8s/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pay\ntype: Opaque\n"
            f"data:\n  STRIPE_KEY: {b64}\n",
            "src/app.properties": "# notifications\nslack.webhook="
            + slack.replace(":", "\\:")
            + "\n",
        },
        "deploy config",
    )
    expected = {
        ("github_pat_classic", "config/app.json", 3),
        ("db_url_password", "app.env", 1),
        ("stripe_secret_key", "k8s/secret.yaml", 7),
        ("slack_webhook", "src/app.properties", 2),
    }
    proc = _shield(repo, ".", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert {(f["kind"], f["path"].removeprefix("./"), f["line"]) for f in findings} == expected
    snippets = {f["path"].removeprefix("./"): f["snippet"] for f in findings}
    assert snippets["k8s/secret.yaml"].startswith("(base64 decoded) STRIPE_KEY: sk_l")
    assert snippets["config/app.json"].startswith("(unicode-escape decoded)")
    for value in (gh, stripe, password, quote(password, safe=""), b64, escaped, slack):
        assert value not in proc.stdout

    # The same in a pull request's range: the decoded findings name the commit.
    proc = _shield(repo, ".", "--range", "HEAD~1..HEAD", "--format", "json")
    findings = json.loads(proc.stdout)["findings"]
    assert {(f["kind"], f["path"], f["line"]) for f in findings} == expected
    assert {f["commit"] for f in findings} == {tip}
