"""Journey: ``prodshield monitor heartbeats`` (a subprocess) prints URLs that follow shield.yaml's
``serve.public_url`` / ``serve.port``, and its note says what they assume. With ``serve.port: 0``
serve picks its port when it starts: while serve runs, the URLs hold the port it recorded in the
store (they said ``PORT`` even then); when it is not running, the URL says ``PORT`` and the note
says serve is not running and the port cannot be known in advance (it printed ``:8080`` and called
that "the address serve listens on" while serve was on another port)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli import prodshield, shell_env
from support.serve import serving

CHECK = "checks:\n  - {name: nightly-backup, type: heartbeat, period: 1d}\n"


def _heartbeats(folder: Path, serve: str, *fmt: str) -> tuple[str, str]:
    folder.mkdir(exist_ok=True)
    (folder / "shield.yaml").write_text(f"storage: sqlite:///store.db\n{serve}{CHECK}")
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"), COLUMNS="200")
    done = prodshield(folder, "monitor", "heartbeats", *fmt, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout, " ".join(done.stderr.split())


def test_port_0_says_the_url_cannot_be_known_in_advance(tmp_path: Path) -> None:
    out, err = _heartbeats(tmp_path, "serve: {port: 0}\n")
    assert "http://127.0.0.1:PORT/heartbeat/" in out, out
    assert ":0/" not in out and ":8080" not in out
    assert "serve.port is 0" in err and "cannot be known in advance" in err, err
    assert "picks a free port each time it starts" in err
    assert "`prodshield serve` is not running" in err
    data = json.loads(_heartbeats(tmp_path, "serve: {port: 0}\n", "--format", "json")[0])
    assert data["port_known"] is False and data["base_url"] == "http://127.0.0.1:PORT"
    assert data["port_from_running_serve"] is False


def test_port_0_gives_the_port_the_running_serve_picked(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    config.write_text(f"storage: sqlite:///store.db\nserve: {{port: 0}}\n{CHECK}")
    with serving(config) as running:
        out, err = _heartbeats(tmp_path, "serve: {port: 0}\n")
        data = json.loads(_heartbeats(tmp_path, "serve: {port: 0}\n", "--format", "json")[0])
    assert f"http://127.0.0.1:{running.port}/heartbeat/" in out, out
    assert "PORT" not in out
    assert f"use http://127.0.0.1:{running.port}, where the running `prodshield serve`" in err
    assert "picks another port when it restarts" in err, err
    assert data["base_url"] == f"http://127.0.0.1:{running.port}"
    assert data["port_known"] is True and data["port_from_running_serve"] is True
    # once serve has stopped (its record removed), the URLs say PORT again and why
    out, err = _heartbeats(tmp_path, "serve: {port: 0}\n")
    assert "http://127.0.0.1:PORT/heartbeat/" in out and "is not running" in err, err


@pytest.mark.parametrize(
    ("serve", "address", "where"),
    [
        ("serve: {port: 9123}\n", "http://127.0.0.1:9123", "(serve.port in shield.yaml)"),
        ("", "http://127.0.0.1:8080", "(the default serve.port)"),
    ],
)
def test_a_fixed_port_is_said_to_be_an_assumption(
    tmp_path: Path, serve: str, address: str, where: str
) -> None:
    out, err = _heartbeats(tmp_path, serve)
    assert f"{address}/heartbeat/" in out, out
    assert f"assume `prodshield serve` listens on {address} {where}" in err, err
    assert "another --port" in err and "set serve.public_url" in err
    assert "the address `prodshield serve` listens on" not in err


def test_public_url_is_used_as_it_is_without_a_note(tmp_path: Path) -> None:
    out, err = _heartbeats(tmp_path, "serve: {port: 0, public_url: 'https://ops.example/'}\n")
    assert "https://ops.example/heartbeat/" in out, out
    assert "note:" not in err, err


def test_port_0_with_a_stale_record_says_serve_is_not_running(tmp_path: Path) -> None:
    """A serve killed (SIGKILL) leaves its address in the store: nothing answers there, so the
    URLs say PORT and the note why, instead of a dead port."""
    import socket

    from prodshield.monitor.heartbeats import record_listening
    from prodshield.store import open_store

    _heartbeats(tmp_path, "serve: {port: 0}\n")  # creates the store
    with socket.socket() as sock:  # a port that was free a moment ago, closed again
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        record_listening(store, "127.0.0.1", port)
    finally:
        store.close()
    out, err = _heartbeats(tmp_path, "serve: {port: 0}\n")
    assert "http://127.0.0.1:PORT/heartbeat/" in out and f":{port}/" not in out, out
    assert "`prodshield serve` is not running" in err, err
    assert f"records it on 127.0.0.1:{port}, but nothing answers there" in err, err
