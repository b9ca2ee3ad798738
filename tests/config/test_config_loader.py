"""The config loader: located one-line errors, interpolation, discovery order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prodshield.config import find_config, load_config, parse_config, parse_duration
from prodshield.config.notifiers import EmailNotifierConfig, PagerDutyNotifierConfig
from prodshield.errors import ConfigError, NotFound

EXAMPLE = Path(__file__).resolve().parents[2] / "src/prodshield/config/example.yaml"

TEN_MISTAKES = """\
version: 1
defaults:
  intervall: 30s
environments:
  production: {vars: {base_url: "http://x"}}
checks:
  - name: a
    type: http
    url: "{base_url}"
    interval: 5 minutes
  - name: b
    type: htp
    url: x
  - name: c
    type: tcp
    host: x
    port: 99999
  - name: d
    type: http
    environments: [prod]
  - name: a
    type: tcp
    host: h
    port: 1
    alerts: [nope]
notifiers:
  gh: {type: github, repo: "acme", token: "${NOPE_TOKEN_X}"}
serve:
  hots: x
"""


def errors_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, name="shield.yaml", env=env or {})
    return info.value.problems


def test_ten_mistakes_yield_ten_located_lines() -> None:
    problems = errors_of(TEN_MISTAKES)
    assert problems == [
        "shield.yaml:3:3: defaults.intervall: unknown key 'intervall' (did you mean 'interval'?)",
        "shield.yaml:10:5: checks[0].interval: '5 minutes' is not a duration (use 30s, 5m, 1h)",
        "shield.yaml:12:11: checks[1].type: unknown type 'htp' (did you mean 'http'?) "
        "(one of http, tcp, tls, dns, postgres, redis, heartbeat, sequence)",
        "shield.yaml:17:5: checks[2].port: input should be less than or equal to 65535",
        "shield.yaml:18:5: checks[3].url: required key is missing",
        "shield.yaml:20:20: checks[3].environments[0]: unknown environment 'prod'",
        "shield.yaml:21:5: checks[4].name: duplicate check name 'a' (also checks[0])",
        "shield.yaml:25:14: checks[4].alerts[0]: unknown notifier 'nope'",
        "shield.yaml:27:22: notifiers.gh.repo: 'acme' is not a repository (use owner/name)",
        "shield.yaml:27:43: notifiers.gh.token: environment variable NOPE_TOKEN_X is not set "
        "(used here as ${NOPE_TOKEN_X}; set it or write ${NOPE_TOKEN_X:-default})",
        "shield.yaml:29:3: serve.hots: unknown key 'hots' (did you mean 'host'?)",
    ]


def test_interpolation_defaults_and_values() -> None:
    text = 'storage: "${DB:-sqlite:///a.db}"\nserve: {token: "${TOK}", title: "$${literal}"}\n'
    tok = "abc-0123456789abcdef"
    cfg = parse_config(text, env={"TOK": tok}).config
    assert cfg.storage == "sqlite:///a.db"
    assert cfg.serve.token == tok
    assert cfg.serve.title == "${literal}"
    cfg = parse_config(text, env={"TOK": tok, "DB": "postgresql://h/db"}).config
    assert cfg.storage == "postgresql://h/db"


def test_invalid_yaml_is_one_located_line() -> None:
    problems = errors_of("checks:\n  - name: a\n    type: [http\n")
    assert len(problems) == 1
    assert problems[0].startswith("shield.yaml:4:1: invalid YAML:")


def test_duplicate_keys_and_wrong_shapes() -> None:
    problems = errors_of("serve:\n  port: 1\n  port: 2\nchecks: {a: 1}\n")
    assert "shield.yaml:3:3: serve.port: duplicate key 'port'" in problems
    assert any(p.startswith("shield.yaml:4:1: checks: must be a list") for p in problems)


def test_example_config_is_valid() -> None:
    loaded = parse_config(EXAMPLE.read_text(), env={})
    assert {c.type for c in loaded.config.checks} >= {"http", "postgres", "redis", "tls"}
    assert set(loaded.config.environments) == {"production", "staging"}
    assert loaded.config.chaos.proxies and loaded.config.logs.sources and loaded.config.notifiers


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("14d", 14 * 86400), ("250ms", 0.25), (12, 12)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["5 minutes", "-1s", "soon", True, "1x"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(bad)


def test_discovery_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "a.yaml"
    via_env = tmp_path / "b.yaml"
    local = tmp_path / "shield.yaml"
    for p in (explicit, via_env, local):
        p.write_text("version: 1\n")
    monkeypatch.chdir(tmp_path)
    assert find_config(explicit, env={"PRODSHIELD_CONFIG": str(via_env)}) == explicit
    assert find_config(None, env={"PRODSHIELD_CONFIG": str(via_env)}) == via_env
    assert find_config(None, env={}) == Path("shield.yaml")
    local.unlink()
    with pytest.raises(NotFound, match="prodshield init"):
        find_config(None, env={})
    assert load_config(explicit).config.version == 1


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "PRODSHIELD_CONFIG"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_config_check_reports_all_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(TEN_MISTAKES)
    proc = run_cli("config", "check", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    # the ten, the notifier's unset variable, and check a's {base_url}, which only an
    # environment defines (the load-time checks judge the checks that validated in the same run)
    assert lines[-1] == "12 errors in config"
    assert any("checks[0].url: {base_url} is defined only under environments" in x for x in lines)
    assert all(line.startswith("shield.yaml:") for line in lines[:-1])
    assert "Traceback" not in proc.stderr


def test_cli_init_then_check_and_refuses_overwrite(tmp_path: Path) -> None:
    proc = run_cli("init", "site", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("config", "check", "-c", "site/shield.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ok: 2 environments, 5 checks" in proc.stdout
    proc = run_cli("init", "site", cwd=tmp_path)
    assert proc.returncode == 2 and "--force" in proc.stderr
    proc = run_cli("init", "site", "--force", cwd=tmp_path)
    assert proc.returncode == 0


def test_cli_config_show_hides_secrets(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "notifiers:\n  gh: {type: github, repo: a/b, token: '${T}'}\n"
    )
    proc = run_cli("config", "show", cwd=tmp_path, env={"T": "ghp_supersecretvalue123"})
    assert proc.returncode == 0, proc.stderr
    assert "ghp_supersecretvalue123" not in proc.stdout
    assert '"token": "***"' in proc.stdout


def test_cli_version_and_groups(tmp_path: Path) -> None:
    proc = run_cli("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("prodshield ")
    proc = run_cli("--help", cwd=tmp_path)
    for group in ("init", "config", "db", "monitor", "logs", "audit", "chaos", "serve"):
        assert group in proc.stdout


def test_cli_config_check_runs_every_capabilitys_load_time_checks(tmp_path: Path) -> None:
    """The config layer validates the schema only; the CLI passes the monitor's and the logs'
    checks (prodshield.cli.config_checks), so `config check` still locates their problems."""
    (tmp_path / "shield.yaml").write_text(
        "checks:\n"
        "  - name: db\n"
        "    type: tcp\n"
        "    host: 127.0.0.1\n"
        "    port: 5432\n"
        "    conditions: ['[STATUS] == 200']\n"
        "logs:\n"
        "  sources:\n"
        "    - name: web\n"
        "      path: access.log\n"
        "      log_format: 'just text'\n"
    )
    proc = run_cli("config", "check", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert "shield.yaml:6:" in proc.stderr and "tcp checks do not provide [STATUS]" in proc.stderr
    assert "shield.yaml:11:" in proc.stderr and "log_format" in proc.stderr
    # The library alone checks the schema; the loaded config remembers what else it passed.
    assert load_config(tmp_path / "shield.yaml").validators == ()
    from prodshield.cli.config_checks import capability_validators

    with pytest.raises(ConfigError):
        load_config(tmp_path / "shield.yaml", validators=capability_validators())


def test_a_scheduled_experiment_names_known_environments_and_guardrail_checks() -> None:
    """A typo in chaos.experiments' env or abort_on_checks would leave a game day unguarded."""
    text = """\
environments: {staging: {}}
checks:
  - {name: api, type: tcp, host: h, port: 1, environments: [staging]}
chaos:
  experiments:
    - {name: a, file: a.json, schedule: "0 10 * * 2", env: stagin, abort_on_checks: [apu]}
    - {name: b, file: b.json, schedule: "0 10 * * 2", env: staging, abort_on_checks: [api@prod]}
    - {name: c, file: c.json, schedule: "0 10 * * 2", env: staging, abort_on_checks: [api@staging]}
"""
    assert errors_of(text) == [
        "shield.yaml:6:55: chaos.experiments[0].env: unknown environment 'stagin' (did you mean 'staging'?)",
        "shield.yaml:6:86: chaos.experiments[0].abort_on_checks[0]: unknown check 'apu' (did you mean 'api'?)",
        "shield.yaml:7:87: chaos.experiments[1].abort_on_checks[0]: unknown environment 'prod'",
    ]


def test_every_section_naming_another_is_checked_against_it() -> None:
    """Escalations, services, maintenance windows and log sources name notifiers, policies,
    checks and environments that exist: one located line each, with the close match."""
    text = """\
environments: {production: {}}
notifiers: {oncall: {type: webhook, url: "http://127.0.0.1:9/"}}
defaults: {escalation: platfrom}
escalations:
  platform:
    - {after: 15m, notify: [oncal]}
services:
  shoop: {slo: {objective: 99.9, window: 30d}}
checks:
  - {name: shop, type: tcp, host: h, port: 1, environments: [production], escalation: platfrom}
maintenance:
  - {name: patching, cron: "0 3 * * 0", duration: 1h, environments: [producton], checks: [shpo]}
logs:
  sources:
    - {name: app, path: /var/log/app.log, environment: prod}
"""
    assert errors_of(text) == [
        "shield.yaml:3:12: defaults.escalation: unknown escalation policy 'platfrom' (did you mean 'platform'?)",
        "shield.yaml:6:29: escalations.platform[0].notify[0]: unknown notifier 'oncal' (did you mean 'oncall'?)",
        "shield.yaml:8:3: services.shoop: unknown service 'shoop' (did you mean 'shop'?)",
        "shield.yaml:10:75: checks[0].escalation: unknown escalation policy 'platfrom' (did you mean 'platform'?)",
        "shield.yaml:12:70: maintenance[0].environments[0]: unknown environment 'producton' (did you mean 'production'?)",
        "shield.yaml:12:91: maintenance[0].checks[0]: unknown check 'shpo' (did you mean 'shop'?)",
        "shield.yaml:15:43: logs.sources[0].environment: unknown environment 'prod'",
    ]


def test_a_version_other_than_1_is_refused() -> None:
    """A file written for another format version is not read as if it were version 1."""
    assert errors_of("version: 2\nchecks: []\n") == [
        "shield.yaml:1:1: version: 2 is not a format version this prodshield reads (it reads 1)"
    ]
    parse_config("version: 1\nchecks: []\n", name="shield.yaml", env={})


def test_a_folder_given_as_the_config_says_so(tmp_path: Path) -> None:
    """`-c DIR` (or $PRODSHIELD_CONFIG=DIR) is a folder, not a missing file; its shield.yaml is
    named when it has one."""
    from prodshield.config.loader import find_config

    with pytest.raises(NotFound) as empty:
        find_config(tmp_path, env={})
    assert str(empty.value) == f"{tmp_path}: a folder, not a config file"
    (tmp_path / "shield.yaml").write_text("checks: []\n")
    with pytest.raises(NotFound) as named:
        find_config(tmp_path, env={})
    assert str(named.value) == (
        f"{tmp_path}: a folder, not a config file (did you mean -c {tmp_path / 'shield.yaml'}?)"
    )
    with pytest.raises(NotFound) as from_env:
        find_config(None, env={"PRODSHIELD_CONFIG": str(tmp_path)})
    assert str(from_env.value).endswith("(from $PRODSHIELD_CONFIG)")
    with pytest.raises(NotFound) as missing:
        find_config(tmp_path / "nope.yaml", env={})
    assert str(missing.value).endswith("nope.yaml: no such config file")


UNUSED_SECTIONS = """\
checks:
  - {name: web, type: http, url: "https://example.com/", headers: {X-Key: "${NO_KEY_X}"}}
notifiers:
  pd: {type: pagerduty, routing_key: "${NO_ROUTING_KEY_X}"}
  mail:
    {type: email, host: smtp.example.com, port: "${NO_PORT_X}", from: a@x.com, to: [b@x.com]}
"""


def test_unset_variables_in_unused_sections_stay_unresolved() -> None:
    """A command that names ``notifiers`` and ``checks`` unused loads a file whose secrets there
    are unset (left as written); a value not valid as written (a port) takes its default there,
    and a command that uses the sections still gets every error."""
    with pytest.raises(ConfigError) as strict:
        parse_config(UNUSED_SECTIONS, env={})
    assert [line.split(": ", 2)[1] for line in strict.value.problems] == [
        "checks[0].headers.X-Key",
        "notifiers.pd.routing_key",
        "notifiers.mail.port",
    ]
    tolerant = parse_config(UNUSED_SECTIONS, env={}, unused=("notifiers", "checks"))
    mail = tolerant.config.notifiers["mail"]
    assert isinstance(mail, EmailNotifierConfig)
    assert mail.port == EmailNotifierConfig.model_fields["port"].default
    assert [line.split(": ", 2)[1] for line in tolerant.unresolved] == [
        "checks[0].headers.X-Key",
        "notifiers.pd.routing_key",
        "notifiers.mail.port",
    ]
    assert tolerant.left_out == ()
    text = UNUSED_SECTIONS.replace('"${NO_PORT_X}"', "25")
    loaded = parse_config(text, env={}, unused=("notifiers", "checks"))
    pd = loaded.config.notifiers["pd"]
    assert isinstance(pd, PagerDutyNotifierConfig)
    assert pd.routing_key == "${NO_ROUTING_KEY_X}"
    assert [line.split(": ", 2)[1] for line in loaded.unresolved] == [
        "checks[0].headers.X-Key",
        "notifiers.pd.routing_key",
    ]
    with pytest.raises(ConfigError):
        parse_config(text, env={}, unused=("checks",))  # the notifiers are used: an error


def test_a_check_left_out_as_unread_keeps_the_lines_of_the_others() -> None:
    """A check left out of a command that never reads it (its ``type`` or a ``tcp`` ``port`` an
    unset ``${VAR}``) is said in ``left_out``; a later check's load-time problem still names its
    own line, not the one of the check before it."""
    from prodshield.cli.config_checks import capability_validators

    text = """\
checks:
  - {name: db, type: tcp, host: db.internal, port: "${NO_PORT_X}"}
  - {name: api, type: "${NO_TYPE_X}", url: "https://example.com/"}
  - {name: web, type: dns, query: example.com, conditions: ["[STATUS] == 200"]}
"""
    with pytest.raises(ConfigError) as err:
        parse_config(text, env={}, unused=("checks",), validators=capability_validators())
    assert [line.split(": ", 2)[0] for line in err.value.problems] == ["shield.yaml:4:61"]
    loaded = parse_config(
        text.replace('"[STATUS] == 200"', '"[BODY] == 1"'),
        env={},
        unused=("checks",),
        validators=capability_validators(),
    )
    assert [c.name for c in loaded.config.checks] == ["web"]
    assert loaded.left_out == (
        "shield.yaml:2:52: checks[0].port: environment variable NO_PORT_X is not set, so this "
        "command leaves checks[0] out",
        "shield.yaml:3:23: checks[1].type: environment variable NO_TYPE_X is not set, so this "
        "command leaves checks[1] out",
    )
