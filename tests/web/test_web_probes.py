"""/healthz and /readyz answer promptly while heavy pages are hammered, and page work past its
bound is answered 503 with Retry-After (prodshield.web.work; docs/web.md, "Probes and overload").

The app runs under uvicorn on a loopback port of this process; the read behind the heavy
requests (``ReadModel.incidents``) is slowed by a sleep, standing in for a slow store, so the
load is the same on any machine. The bounds are generous (2 s, the kubelet allows 1 s by
default): before the fix, /readyz waited about 4 s behind the pages on the shared thread pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from prodshield.config import parse_config
from prodshield.monitor.read import ReadModel
from prodshield.store import open_store
from prodshield.web.app import create_app
from prodshield.web.microcache import ResponseCache
from prodshield.web.work import Overloaded, PageWork, Recent
from support.net import loopback_socket, wait_until
from support.serve_process import Answer, http
from support.web_seed import AUTH, CONFIG, TOKEN, seed

SLOW = 1.5
"""Seconds each heavy request's store read takes."""
BOUND = 2.0
"""What a probe must answer within (generous: not a timing, a regression bound)."""


@pytest.fixture
def slow_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    original = ReadModel.incidents

    def slow(self: ReadModel, *args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ReadModel, "incidents", slow)


def _serving(tmp_path: Path, limits: str) -> Iterator[str]:
    text = CONFIG.replace(
        'serve: {title: "Acme status"}', f'serve: {{title: "Acme status", limits: {limits}}}'
    )
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    loaded = parse_config(text, name=str(path), env={}, fs_path=path)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    seed(store)
    app = create_app(loaded, store, token=TOKEN)
    sock = loopback_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        store.close()


@pytest.fixture
def site(tmp_path: Path, slow_reads: None) -> Iterator[str]:
    yield from _serving(tmp_path, "{page_workers: 4, page_queue: 8}")


@pytest.fixture
def tiny(tmp_path: Path, slow_reads: None) -> Iterator[str]:
    yield from _serving(tmp_path, "{page_workers: 1, page_queue: 1}")


def _timed(url: str) -> tuple[Answer, float]:
    start = time.monotonic()
    answer = http(url, timeout=30)
    return answer, time.monotonic() - start


def _in_flight(pool: ThreadPoolExecutor, url: str, count: int, **kwargs: Any) -> list[Any]:
    """``count`` requests sent at once; waits until the server holds them (a short settle)."""
    futures = [pool.submit(http, url, timeout=30, **kwargs) for _ in range(count)]
    time.sleep(0.5)
    return futures


def test_probes_answer_promptly_while_heavy_pages_are_in_flight(site: str) -> None:
    heavy = 120  # more than Starlette's shared pool (40 threads) runs at once
    with ThreadPoolExecutor(heavy + 4) as pool:
        futures = _in_flight(pool, f"{site}/api/v1/incidents", heavy, headers=AUTH)
        for path in ("/healthz", "/readyz", "/healthz", "/readyz"):
            answer, took = _timed(site + path)
            assert answer.status == 200, (path, answer.status, answer.body)
            assert took < BOUND, f"{path} took {took:.1f} s with {heavy} heavy requests in flight"
        answers = [f.result() for f in futures]
    statuses = sorted({a.status for a in answers})
    assert statuses == [200, 503], statuses  # the bound served some, turned the rest away
    served = sum(1 for a in answers if a.status == 200)
    assert served >= 12, served  # 4 workers + 8 waiting: every admitted request was served
    for a in answers:
        if a.status == 503:
            assert a.headers["retry-after"] == "5"
            assert a.json() == {"error": "prodshield is busy: retry in 5 s"}


def test_overload_is_503_with_retry_after_after_auth_and_shows_on_readyz(tiny: str) -> None:
    with ThreadPoolExecutor(8) as pool:
        futures = _in_flight(pool, f"{tiny}/api/v1/incidents", 4, headers=AUTH)
        # one read in the worker, one waiting, two turned away at once: the half second may not
        # bring all four to a loaded machine's server (a bound, not a timing)
        wait_until(lambda: sum(f.done() for f in futures) >= 2, "two of four turned away", 30, 0.02)
        # the token is checked before any queue: no token is still 401, never 503
        assert http(f"{tiny}/api/v1/incidents").status == 401
        wrong = http(f"{tiny}/api/v1/incidents", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        page = http(f"{tiny}/metrics")  # a public heavy page, while the one worker is busy
        assert page.status == 503, page.status
        assert page.headers["retry-after"] == "5"
        assert page.headers["content-type"].startswith("text/plain")
        assert page.headers["cache-control"] == "no-store"
        assert "x-content-type-options" in page.headers  # the security headers stay
        answers = [f.result() for f in futures]
    assert sorted(a.status for a in answers) == [200, 200, 503, 503]
    ready = http(f"{tiny}/readyz")
    assert ready.status == 200
    body = ready.json()
    assert body["status"] == "degraded"
    # the count is of the window the line is shown for (it said "3 ... since start" and went on
    # counting every refusal since start while it was only shown for five minutes after one)
    assert body["problems"]["web:overloaded"].startswith(
        "3 page request(s) answered 503 in the last 5 minutes"
    ), body
    metrics = http(f"{tiny}/metrics").body.decode()
    assert "prodshield_web_page_work_refused_total 3.0" in metrics


def test_readyz_counts_the_refusals_of_the_last_five_minutes_only() -> None:
    """/readyz's overload line counts what it says it counts: refusals older than five minutes
    leave the count (and the line goes once none is left), while /metrics keeps the total."""
    now = [1_000_000.0]
    work = PageWork(workers=1, queue=0)
    work.recent = Recent(clock=lambda: now[0])
    for _ in range(3):
        work._refuse()
    now[0] += 200
    work._refuse()
    assert work.problems()["web:overloaded"].startswith(
        "4 page request(s) answered 503 in the last 5 minutes"
    )
    now[0] += 150  # the first three are 350 s old
    assert work.problems()["web:overloaded"].startswith(
        "1 page request(s) answered 503 in the last 5 minutes"
    )
    now[0] += 200
    assert work.problems() == {}
    assert work.refused == 4  # /metrics' prodshield_web_page_work_refused_total


def test_page_work_refuses_a_request_that_waited_too_long() -> None:
    import asyncio

    work = PageWork(workers=1, queue=5, max_wait=0.2)

    async def main() -> Any:
        return await asyncio.gather(
            work.run(time.sleep, 0.5),
            work.run(lambda: "late"),
            return_exceptions=True,
        )

    try:
        first, second = asyncio.run(main())
    finally:
        work.close()
    assert first is None
    assert isinstance(second, Overloaded), second
    assert work.refused == 1 and work.admitted == 0


def test_a_fresh_cached_body_is_given_without_building() -> None:
    now = [100.0]
    cache = ResponseCache(5.0, clock=lambda: now[0])
    assert cache.fresh("k") is None
    cache.get("k", lambda: b"body")
    assert cache.fresh("k") == b"body"
    now[0] += 6
    assert cache.fresh("k") is None
    cache.get("k", lambda: b"new")
    cache.invalidate()
    assert cache.fresh("k") is None


SERVE_SCRIPT = """
import os, signal, sys
from prodshield.config import parse_config
from prodshield.store import open_store
from prodshield.web.server import serve

text = "storage: sqlite:///{db}\\nchecks: []\\n"
loaded = parse_config(text, name="shield.yaml", env={{}})
store = open_store("sqlite:///{db}")
seen = []

def ready(url):
    seen.append(sys.getswitchinterval())
    os.kill(os.getpid(), signal.SIGTERM)

before = sys.getswitchinterval()
serve(loaded, store, token="t" * 20, host="127.0.0.1", port=0, on_ready=ready)
print(before, seen[0], sys.getswitchinterval())
"""


def test_serve_lets_the_event_loop_take_the_lock_sooner(tmp_path: Path) -> None:
    """While serving, a thread holding the interpreter lock gives it up after 1 ms (Python's
    default is 5 ms): each step of a probe's request waits less behind the page workers."""
    import subprocess
    import sys

    script = SERVE_SCRIPT.format(db=tmp_path / "store.db")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, serving, after = (float(x) for x in done.stdout.split())
    assert (before, serving, after) == (0.005, 0.001, 0.005)


@pytest.fixture
def slow_writes(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """``deploys.mark`` (``POST /api/v1/deploys``) slowed like a store waiting on its write
    lock, counting how many run at once."""
    from prodshield import deploys

    original = deploys.mark
    seen = {"now": 0, "most": 0}
    lock = threading.Lock()

    def slow(*args: Any, **kwargs: Any) -> Any:
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            time.sleep(1.0)
            return original(*args, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(deploys, "mark", slow)
    return seen


def test_writes_run_on_their_own_bounded_pool_and_the_probes_stay_prompt(
    tmp_path: Path, slow_writes: dict[str, int]
) -> None:
    """40 writes at once ran 40 at a time on Starlette's shared pool (40 writers queueing on the
    store's lock); now ``serve.limits.write_workers`` run, ``write_queue`` wait, the rest are
    503 with Retry-After, and /healthz and /readyz answer meanwhile."""
    site = _serving(tmp_path, "{write_workers: 2, write_queue: 6}")
    base = next(site)
    try:
        writes = 40
        body = b'{"version": "v1", "environment": "production"}'
        headers = {**AUTH, "Content-Type": "application/json"}
        with ThreadPoolExecutor(writes + 4) as pool:
            futures = _in_flight(
                pool, f"{base}/api/v1/deploys", writes, method="POST", data=body, headers=headers
            )
            for path in ("/healthz", "/readyz", "/healthz"):
                answer, took = _timed(base + path)
                assert answer.status == 200, (path, answer.status, answer.body)
                assert took < BOUND, f"{path} took {took:.1f} s with {writes} writes in flight"
            answers = [f.result() for f in futures]
        assert slow_writes["most"] <= 2, slow_writes
        statuses = sorted(a.status for a in answers)
        assert statuses.count(201) >= 8 and set(statuses) == {201, 503}, statuses
        for a in answers:
            if a.status == 503:
                assert a.headers["retry-after"] == "5"
        ready = http(f"{base}/readyz").json()
        refused = statuses.count(503)
        assert ready["problems"]["web:writes-overloaded"].startswith(
            f"{refused} write request(s) answered 503 in the last 5 minutes"
        ), ready
        metrics = http(f"{base}/metrics").body.decode()
        assert f"prodshield_web_write_work_refused_total {refused}.0" in metrics
        assert "prodshield_web_write_work_running 0.0" in metrics
    finally:
        next(site, None)
