"""Journey: a toxic name no API URL can address is refused where it is written.

`chaos toxic add web -t latency --name a/b` answered `added a/b (latency, downstream) to web`,
and `chaos toxic remove web a/b` then said there was no such toxic: only `POST /reset` (or a
restart) removed it. Toxic names are now held to the proxy names' rule (letters, digits, `-`, `_`,
`.`): the CLI refuses the name (exit 2) before calling the API, the API answers 400, and
shield.yaml's `chaos.proxies[].toxics[].name` is checked when the file loads, with its line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.chaos_proxy import ProxyThread
from support.cli import prodshield, shell_env


@pytest.fixture
def proxy() -> Iterator[ProxyThread]:
    thread = ProxyThread()
    try:
        thread.create("web", "127.0.0.1:9")
        yield thread
    finally:
        thread.close()


def test_toxic_add_refuses_a_name_it_could_not_remove(tmp_path: Path, proxy: ProxyThread) -> None:
    env = shell_env()
    done = prodshield(
        tmp_path, "chaos", "toxic", "add", "web", "-t", "latency", "--name", "a/b",
        "--api", proxy.url, env=env,
    )  # fmt: skip
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "--name: invalid toxic name 'a/b'" in done.stderr, done.stderr
    assert "letters, digits" in done.stderr, done.stderr
    assert proxy.json("GET", "/proxies/web/toxics") == (200, [])

    # a name of the rule goes in and comes out by the CLI, as does the default name
    for args in (("--name", "db.slow-1"), ()):
        added = prodshield(
            tmp_path, "chaos", "toxic", "add", "web", "-t", "latency", "-a", "latency=5", *args,
            "--api", proxy.url, env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    assert [t["name"] for t in proxy.json("GET", "/proxies/web/toxics")[1]] == [
        "db.slow-1",
        "latency_downstream",
    ]
    for name in ("db.slow-1", "latency_downstream"):
        removed = prodshield(
            tmp_path, "chaos", "toxic", "remove", "web", name, "--api", proxy.url, env=env
        )
        assert removed.returncode == 0, removed.stderr
        assert f"removed {name} from web" in removed.stdout
    assert proxy.json("GET", "/proxies/web/toxics") == (200, [])

    # removing a name no toxic can have says so, in one line (exit 2), without a traceback
    missing = prodshield(
        tmp_path, "chaos", "toxic", "remove", "web", "a/b", "--api", proxy.url, env=env
    )
    assert missing.returncode == 2, (missing.stdout, missing.stderr)
    assert "no toxic 'a/b' on proxy 'web'" in missing.stderr, missing.stderr
    assert "Traceback" not in missing.stderr


CONFIG = """\
version: 1
chaos:
  api: {host: 127.0.0.1, port: 0}
  proxies:
    - name: web
      listen: "127.0.0.1:0"
      upstream: "127.0.0.1:9"
      toxics:
        - {type: latency, name: slow-web}
        - {type: timeout, name: "cut/web"}
"""


def test_config_check_names_the_line_of_a_bad_toxic_name(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    done = prodshield(tmp_path, "config", "check", env=shell_env())
    assert done.returncode != 0, done.stdout
    out = done.stdout + done.stderr
    assert "shield.yaml:10:" in out and "chaos.proxies[0].toxics[1].name" in out, out
    assert "invalid toxic name 'cut/web'" in out and "letters, digits" in out, out
    assert "toxics[0]" not in out, out
