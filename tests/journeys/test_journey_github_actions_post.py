"""Journey (newcomer review 3, item 7): `init --github-actions` beside a shield.yaml whose only
notifier is a webhook warned about storage and serve.token but not that the log-intelligence
workflow's `logs digest ... --post github` has no notifier to post to: that step exited 2 every
day. Now init says so, with the edit; made, the warning goes and the step finds its notifier."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, wide_env

SHIELD = """storage: "${PRODSHIELD_STORAGE:-sqlite:///prodshield.db}"
notifiers:
  hook: {type: webhook, url: "http://127.0.0.1:9/hook"}
checks:
  - {name: a, type: tcp, host: 127.0.0.1, port: 9}
"""
ADDED = '  github: {type: github, repo: "${GITHUB_REPOSITORY}", token: "${GITHUB_TOKEN}"}\n'


def _init(cwd: Path, *more: str) -> list[str]:
    done = prodshield(
        cwd, "init", "--github-actions", "--install", "prodshield==0.1.0", *more, env=wide_env()
    )
    assert done.returncode == 0, done.stderr
    return [x for x in done.stderr.splitlines() if x.startswith("warning: shield.yaml")]


def test_init_warns_that_the_digest_has_no_notifier_to_post_to(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(SHIELD)
    [warning] = _init(tmp_path)
    assert "'Daily digest' of log-intelligence.yml runs --post github" in warning, warning
    assert "no notifier named github or of type github (only hook (webhook))" in warning
    assert "exits 2 on every run" in warning
    assert f"add under notifiers: {ADDED.strip()}" in warning, warning

    # what the step would do today: exit 2, as the warning says
    digest = prodshield(tmp_path, "logs", "digest", "--post", "github", env=wide_env())
    assert digest.returncode == 2 and "--post github: no notifier" in digest.stderr

    # the edit the warning names, made as a user would
    text = SHIELD.replace("notifiers:\n", "notifiers:\n" + ADDED)
    (tmp_path / "shield.yaml").write_text(text)
    assert _init(tmp_path, "--force") == []
    # as the digest step runs it: the runner sets GITHUB_REPOSITORY, the step maps GITHUB_TOKEN
    step_env = {**wide_env(), "GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "token-of-the-step"}
    checked = prodshield(tmp_path, "config", "check", env=step_env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_two_github_notifiers_need_a_name(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        SHIELD.replace(
            "notifiers:\n",
            "notifiers:\n"
            + ADDED.replace("github:", "issues:")
            + ADDED.replace("github:", "ops-issues:"),
        )
    )
    [warning] = _init(tmp_path)
    assert "2 notifiers of type github (issues, ops-issues)" in warning, warning
