"""Journey: the listings of `chaos proxy list`, `chaos toxic list`, `debt`, `db status` and
`monitor instances --owners` draw the CLI's one table (prodshield/tables.py's Grid): a header row
over a rule, no heavy box, at most 80 columns on an 80-column terminal, key words never cut."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.serve import read_proxy_ports

HEAVY = "┏┃│╇━┡┗┛┓"


def _cli(cwd: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODSHIELD_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env={**env, "COLUMNS": str(columns), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _grid(out: str, header: list[str], width: int = 80) -> list[list[str]]:
    """The rows under ``header`` (split on whitespace), after checking the Grid's look."""
    lines = out.splitlines()
    assert not any(c in out for c in HEAVY), out
    at = next(i for i, line in enumerate(lines) if line.split() == header)
    assert set(lines[at + 1].strip()) == {"─"}, out
    rows = []
    for line in lines[at:]:
        assert len(line) <= width, out
        if not line.strip():
            break
        rows.append(line.split())
    return rows[2:]


def test_db_status_and_monitor_instances(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "environments: {production: {}}\n"
        "checks:\n"
        "  - {name: checkout-api-with-a-long-name, type: tcp, host: 127.0.0.1, port: 9,"
        " environments: [production]}\n"
    )
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    status = _cli(tmp_path, "db", "status")
    assert status.returncode == 0, status.stderr
    rows = _grid(status.stdout, ["component", "version", "latest", "state"])
    assert rows and all(r[-1] == "ok" for r in rows), status.stdout

    owners = _cli(tmp_path, "monitor", "instances", "--owners")
    assert owners.returncode == 0, owners.stderr
    assert "no instance registered" in owners.stdout
    assert _grid(owners.stdout, ["check", "env", "owner"]) == [
        ["checkout-api-with-a-long-name", "production", "-"]
    ]


def test_debt_tables(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src" / "payments" / "providers").mkdir(parents=True)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.email=dev@example.com", "-c", "user.name=Dana Developer", *args],
            cwd=repo, check=True, capture_output=True,
        )  # fmt: skip

    git("init", "-q")
    long_path = repo / "src" / "payments" / "providers" / "stripe_webhook_signature_checks.py"
    long_path.write_text(
        "x = 1\n# TODO: [red]verify[/] the signature of every webhook before trusting the amount it"
        " reports, and reject replays older than five minutes\n"
    )
    git("add", ".")
    git("commit", "-qm", "first")
    done = _cli(repo, "debt", ".")
    assert done.returncode == 0, done.stderr
    assert _grid(done.stdout, ["marker", "count"]) == [["TODO", "1"]]
    assert _grid(done.stdout, ["author", "count"]) == [["Dana", "Developer", "1"]]
    oldest = done.stdout[done.stdout.index("oldest") :]
    rows = _grid(oldest, ["age", "(days)", "marker", "where", "text"])  # no author under 100
    assert rows[0][:2] == ["0", "TODO"], oldest
    assert "[red]verify[/]" in oldest  # outside text is printed as it is, not read as markup
    wide = _cli(repo, "debt", ".", columns=120)
    wide_rows = _grid(
        wide.stdout[wide.stdout.index("oldest") :],
        ["age", "(days)", "marker", "where", "author", "text"],
        width=120,
    )
    assert "Dana" in wide_rows[0] and any("Developer" in row for row in wide_rows)


def test_chaos_proxy_and_toxic_lists(tmp_path: Path) -> None:
    proxies = tmp_path / "toxiproxy.json"
    proxies.write_text(
        json.dumps(
            [
                {
                    "name": "pg-primary-for-checkout",
                    "listen": "127.0.0.1:0",
                    "upstream": "127.0.0.1:5432",
                    "enabled": True,
                }
            ]
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "chaos", "proxy", "--port", "0",
         "--config", str(proxies)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:  # both on port 0: the ports come from what it prints once they listen
        api_port, ports, _ = read_proxy_ports(proc, ("pg-primary-for-checkout",))
        listen = ports["pg-primary-for-checkout"]
        api = ["--api", f"http://127.0.0.1:{api_port}"]
        added = _cli(
            tmp_path, "chaos", "toxic", "add", "pg-primary-for-checkout",
            "-t", "latency", "-a", "latency=250", "-a", "jitter=50", "--toxicity", "0.5", *api,
        )  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
        listed = _cli(tmp_path, "chaos", "proxy", "list", *api)
        assert listed.returncode == 0, listed.stderr
        assert _grid(listed.stdout, ["name", "listen", "upstream", "enabled", "toxics"]) == [
            ["pg-primary-for-checkout", f"127.0.0.1:{listen}", "127.0.0.1:5432", "yes", "1"]
        ]
        toxics = _cli(tmp_path, "chaos", "toxic", "list", "pg-primary-for-checkout", *api)
        assert toxics.returncode == 0, toxics.stderr
        [row] = _grid(toxics.stdout, ["name", "type", "stream", "toxicity", "attributes"])
        assert row[:4] == ["latency_downstream", "latency", "downstream", "0.5"], row
        assert "latency=250" in " ".join(row[4:]) and "jitter=50" in " ".join(row[4:])
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
