"""Journey: two commands saying one thing say it in the same words (newcomer trial).

- a missing log file: `logs parse nope.log` said `No such file or directory` (the OS's words)
  where `logs templates nope.log` says `no such file`; both now say `nope.log: no such file`
  (their exit codes differ, as documented: 3 nothing read, 2 a usage error);
- `cat f | logs parse -` summed up `read 1 file`: it now says `read stdin`;
- a refused connection: a tcp check said `connection refused`, an http check `connection
  refused by 127.0.0.1:PORT`; both now name the address."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, wide_env
from support.net import refused_port


def test_the_same_thing_in_the_same_words(tmp_path: Path) -> None:
    env = wide_env()
    parsed = prodshield(tmp_path, "logs", "parse", "nope.log", env=env)
    assert parsed.returncode == 3, parsed.stderr
    assert "error: nope.log: no such file\n" in parsed.stderr, parsed.stderr
    templates = prodshield(tmp_path, "logs", "templates", "nope.log", env=env)
    assert templates.returncode == 2, templates.stderr
    assert "error: nope.log: no such file\n" in templates.stderr, templates.stderr

    piped = prodshield(tmp_path, "logs", "parse", "-", env=env, stdin="hello world\nhello you\n")
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr.startswith("read stdin, 2 lines, 2 events"), piped.stderr
    (tmp_path / "a.log").write_text("hello world\n")
    both = prodshield(tmp_path, "logs", "parse", "a.log", "-", env=env, stdin="hello you\n")
    assert "read 1 file and stdin, 2 lines" in both.stderr, both.stderr

    port = refused_port()
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "checks:\n"
        f"  - {{name: raw, type: tcp, host: 127.0.0.1, port: {port}}}\n"
        f"  - {{name: web, type: http, url: 'http://127.0.0.1:{port}/'}}\n"
    )
    once = prodshield(tmp_path, "monitor", "once", "--format", "json", env=env)
    said = f"connection refused by 127.0.0.1:{port}"
    assert once.stdout.count(said) == 2, once.stdout
