"""Journey: `config check` prints every mistake of a file in one run.

The load-time checks the schema cannot make (a placeholder a check type does not provide, a
`{var}` no environment defines) ran only once the whole file validated: on a file with nine
schema and reference mistakes, the first run printed 9 errors, and the tcp check's `[STATUS]`
and the undefined `{base_url}` came out only after those were fixed. They now judge every part
that validated (a check whose own bad field is left aside included) in the same run: 11 located
lines, exit 2. Malformed shapes give located lines too, never "internal error".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.cli import prodshield, wide_env

CONFIG = """\
version: 1
environments:
  production:
    vars:
      host: example.com
checks:
  - name: a
    type: tcp
    host: db.example.com
    port: 5432
    interval: 5x
    conditions: ["[STATUS] == 200"]
  - name: b
    type: http
    url: "https://{base_url}/health"
    environments: [production]
    conditions: ["[STATUS] =! 200"]
  - name: c
    type: http
    url: "https://example.com/"
    alerts: [pagerduty]
  - name: c
    type: http
    url: "https://example.com/x"
  - name: d
    type: tcp
    host: db.example.com
    port: 70000
  - name: e
    type: ftp
    url: ftp://x
  - name: f
    type: http
    url: "https://example.com/"
    environments: [prod]
logs:
  rules:
    - kind: bad
      pattern: "([a-z"
chaos:
  proxies:
    - name: pg
      listen: 127.0.0.1
      upstream: 127.0.0.1:5432
"""


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("shield.yaml:")]


def test_every_mistake_in_one_run(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    done = prodshield(tmp_path, "config", "check", env=wide_env())
    assert done.returncode == 2, (done.stdout, done.stderr)
    errors = _errors(done.stderr)
    assert [e.split(": ", 2)[:2] for e in errors] == [
        ["shield.yaml:11:5", "checks[0].interval"],
        ["shield.yaml:12:18", "checks[0].conditions[0]"],
        ["shield.yaml:15:5", "checks[1].url"],
        ["shield.yaml:17:18", "checks[1].conditions[0]"],
        ["shield.yaml:21:14", "checks[2].alerts[0]"],
        ["shield.yaml:22:5", "checks[3].name"],
        ["shield.yaml:28:5", "checks[4].port"],
        ["shield.yaml:30:11", "checks[5].type"],
        ["shield.yaml:35:20", "checks[6].environments[0]"],
        ["shield.yaml:39:7", "logs.rules[0].pattern"],
        ["shield.yaml:43:7", "chaos.proxies[0].listen"],
    ], done.stderr
    assert "tcp checks do not provide [STATUS]" in errors[1], errors[1]
    assert "{base_url} is not defined in environment production" in errors[2], errors[2]
    assert len(set(errors)) == len(errors)
    assert "11 errors" in done.stderr, done.stderr

    # fixing the nine leaves exactly the two, as before: nothing new, nothing lost
    fixed = (
        CONFIG.replace("interval: 5x", "interval: 5s")
        .replace("=! 200", "== 200")
        .replace("    alerts: [pagerduty]\n", "")
        .replace(
            'name: c\n    type: http\n    url: "https://example.com/x"',
            'name: c2\n    type: http\n    url: "https://example.com/x"',
        )
        .replace("70000", "5432")
        .replace("type: ftp\n    url: ftp://x", "type: tcp\n    host: x\n    port: 21")
        .replace("[prod]", "[production]")
        .replace('"([a-z"', '"([a-z])"')
        .replace("listen: 127.0.0.1\n", "listen: 127.0.0.1:25432\n")
    )
    (tmp_path / "shield.yaml").write_text(fixed)
    again = prodshield(tmp_path, "config", "check", env=wide_env())
    assert again.returncode == 2, (again.stdout, again.stderr)
    assert [e.split(": ", 2)[1] for e in _errors(again.stderr)] == [
        "checks[0].conditions[0]",
        "checks[1].url",
    ], again.stderr


@pytest.mark.parametrize(
    ("shape", "where"),
    [
        ("checks:\n  - [name, a]\n", "shield.yaml:2:5: checks[0]"),
        (
            "checks:\n  - name: a\n    type: tcp\n    host: x\n    port: 1\n"
            "    conditions: '[STATUS] == 200'\n",
            "shield.yaml:6:5: checks[0].conditions",
        ),
        ("environments: production\n", "shield.yaml:1:1: environments"),
        (
            "environments: production\nchecks:\n  - name: a\n    type: http\n"
            "    url: 'https://{base_url}/'\n    environments: [production]\n",
            "shield.yaml:1:1: environments",
        ),
    ],
)
def test_malformed_shapes_are_located_lines(tmp_path: Path, shape: str, where: str) -> None:
    (tmp_path / "shield.yaml").write_text(shape)
    done = prodshield(tmp_path, "config", "check", env=wide_env())
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    errors = _errors(done.stderr)
    assert errors and errors[0].startswith(where), done.stderr
    assert len(set(errors)) == len(errors)
    # an environment that did not validate is not guessed at: no "{base_url} is not defined"
    assert not any("{base_url}" in e for e in errors), done.stderr
