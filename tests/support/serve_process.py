"""`prodshield serve` as a subprocess for the security tests: start it on a port the system gives
(optionally under a descriptor limit), wait until it answers, talk HTTP to it, stop it and keep
what it logged."""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.serve import start_serve, stop_serve

TOKEN = "security-token-0123456789abcdef"
SERVING = re.compile(r"^prodshield serving http://[^/]+:(\d+)/", re.MULTILINE)
"""The first line serve prints, with the port it bound."""


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    timeout: float = 10.0,
) -> Answer:
    """One request; HTTP errors are answers too (status and body), network errors raise."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as r:
            return Answer(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Served:
    proc: subprocess.Popen[Any]
    port: int
    config: Path
    log: Path
    db: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **kwargs: Any) -> Answer:
        return http(self.url + path, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def count(self, sql: str, *args: Any) -> int:
        try:
            with sqlite3.connect(self.db, timeout=10) as conn:
                return int(conn.execute(sql, args).fetchone()[0])
        except sqlite3.Error:
            return -1


def _limit_descriptors(n: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return apply


@contextmanager
def serve(
    tmp_path: Path,
    config_text: str,
    *,
    nofile: int | None = None,
    env: dict[str, str] | None = None,
    ready: bool = True,
    db: Path | None = None,
) -> Iterator[Served]:
    """Run ``prodshield serve`` with ``config_text`` (``{port}`` and ``{db}`` filled in; ``db``
    shares another instance's store).

    ``{port}`` is 0: serve binds a port the system gives and prints its URL, read from its
    output (a free port chosen here and bound later could be taken in between)."""
    tmp_path.mkdir(exist_ok=True)
    db = db or tmp_path / "store.db"
    config = tmp_path / "shield.yaml"
    config.write_text(config_text.replace("{port}", "0").replace("{db}", str(db)))
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = start_serve(
            config,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            preexec_fn=_limit_descriptors(nofile) if nofile else None,
            cwd=tmp_path,
        )
    served = Served(proc, 0, config, log, db)
    try:
        if ready:

            def answers() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"serve exited {proc.returncode}: {served.output()}")
                if not served.port:
                    found = SERVING.search(served.output())
                    if not found:
                        return False
                    served.port = int(found.group(1))
                try:
                    return served.get("/readyz", timeout=3).status == 200
                except OSError:
                    return False

            wait_for("serve to be ready", answers)
        yield served
    finally:
        if proc.poll() is None:
            stop_serve(proc, timeout=30)


def raw_http(port: int, request: bytes) -> bytes:
    """Send ``request`` as is and read the answer to the end (the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def login(srv: Served, token: str, **headers: str) -> tuple[int, list[str]]:
    """Sign in through the form as a browser does; return the status and Set-Cookie lines."""
    form = raw_http(srv.port, b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    cookie = re.search(rb"prodshield_login=([^;]+)", form)
    assert cookie is not None
    csrf = cookie.group(1).decode()
    body = urllib.parse.urlencode({"csrf": csrf, "token": token, "next": "/dashboard"}).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    answer = raw_http(
        srv.port,
        (
            f"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            f"Cookie: prodshield_login={csrf}\r\n{extra}\r\n"
        ).encode()
        + body,
    )
    status = int(answer.split(b" ", 2)[1])
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    cookies = [
        line.split(":", 1)[1].strip()
        for line in head.split("\r\n")
        if line.lower().startswith("set-cookie:")
    ]
    return status, cookies


def signed_in_page(srv: Served, path: str, token: str = TOKEN) -> str:
    """A dashboard page as a browser signed in through the form gets it (200), as text."""
    status, cookies = login(srv, token)
    assert status == 303, status
    page = srv.get(path, headers={"Cookie": f"prodshield_session={session_of(cookies)}"})
    assert page.status == 200, page.status
    return page.body.decode("utf-8")


def session_of(cookies: list[str]) -> str:
    """The dashboard session cookie's value among Set-Cookie lines."""
    for line in cookies:
        if line.startswith("prodshield_session="):
            return line.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no session cookie in {cookies}")
