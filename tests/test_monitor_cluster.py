"""Several `prodshield monitor run` processes on one PostgreSQL store split the checks.

Real processes, a real PostgreSQL schema, real loopback HTTP targets and the GitHub stand-in:
three instances start, two are killed with SIGKILL one after the other (one of them the owner of
a check in the middle of an incident), two new ones start, and the stored results must show every
check run once per interval with no gap longer than two intervals, one incident and one GitHub
issue for the outage, and the checks split again among the new set of instances.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from github_standin import GitHubStandin
from prodshield.monitor.cluster import group_of, list_instances, rendezvous
from prodshield.store import open_store
from prodshield.store import tables as t

TOKEN = "ghp_" + "C" * 36
REPO = "acme/hive"
INTERVAL = 4.0
CHECKS = 100
FAILING = "checkout"
PRODSHIELD = [sys.executable, "-m", "prodshield"]


class Targets:
    """``/ok/{n}`` always answers 200; ``/checkout`` answers 503 while ``down`` is set."""

    def __init__(self) -> None:
        self.down = True
        self.url = ""
        self.hits = 0

    async def ok(self, _request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(text="UP")

    async def checkout(self, _request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(text="DOWN" if self.down else "UP", status=503 if self.down else 200)


@contextmanager
def serve_targets() -> Iterator[Targets]:
    targets = Targets()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_get("/ok/{n}", targets.ok)
        app.router.add_get("/checkout", targets.checkout)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        box.append(runner)
        targets.url = f"http://127.0.0.1:{runner.addresses[0][1]}"

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield targets
    finally:
        asyncio.run_coroutine_threadsafe(box[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def write_config(tmp: Path, pg_url: str, base: str, api_url: str) -> Path:
    lines = [
        f'storage: "{pg_url}"',
        f"defaults: {{interval: {INTERVAL:g}s, timeout: 1s, failure_threshold: 2, "
        "success_threshold: 2}",
        "notifiers:",
        f'  gh: {{type: github, repo: {REPO}, token: "${{GITHUB_TOKEN}}", api_url: "{api_url}"}}',
        "checks:",
        f"  - {{name: {FAILING}, type: http, url: '{base}/checkout', "
        "conditions: ['[STATUS] == 200']}",
    ]
    lines += [
        f"  - {{name: svc-{n:03d}, type: http, url: '{base}/ok/{n}', alerts: []}}"
        for n in range(CHECKS - 1)
    ]
    cfg = tmp / "shield.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


class Instances:
    def __init__(self, cfg: Path, tmp: Path) -> None:
        self.cfg = cfg
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.events: list[tuple[str, float]] = []

    def start(self, name: str) -> None:
        self.events.append((f"start {name}", time.time()))
        log = (self.tmp / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "prodshield", "monitor", "run", "-c", str(self.cfg)],
            env={
                **os.environ,
                "GITHUB_TOKEN": TOKEN,
                "PRODSHIELD_LOCATION": f"loc-{name}",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def pid_of(self, instance_id: str) -> str:
        pid = int(instance_id.rsplit("-", 2)[1])
        return next(name for name, p in self.procs.items() if p.pid == pid)

    def kill(self, name: str) -> None:
        self.events.append((f"kill {name}", time.time()))
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> dict[str, int | None]:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = {}
        for name, p in self.procs.items():
            try:
                codes[name] = p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[name] = None
        return codes


def owners(store: Any) -> dict[str, int]:
    """Live instance id -> number of leases it holds."""
    return {i.id: i.owned for i in list_instances(store) if i.live}


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def fair(held: dict[str, int], count: int) -> bool:
    """``count`` live instances, every check leased by one of them, each holding a fair share."""
    return (
        len(held) == count
        and sum(held.values()) == CHECKS
        and all(CHECKS / count * 0.4 <= n <= CHECKS / count * 1.8 for n in held.values())
    )


def assert_split(store: Any, count: int, timeout: float = 10.0) -> dict[str, int]:
    """Wait for a fair split (a loaded machine can make one heartbeat late for a moment)."""
    deadline = time.monotonic() + timeout
    held = owners(store)
    while not fair(held, count) and time.monotonic() < deadline:
        time.sleep(0.25)
        held = owners(store)
    assert fair(held, count), held
    return held


def test_three_instances_split_fail_over_and_rebalance(tmp_path: Path, pg_url: str) -> None:
    began = time.time()
    with serve_targets() as targets, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        cfg = write_config(tmp_path, pg_url, targets.url, gh.url)
        inst = Instances(cfg, tmp_path)
        store = open_store(pg_url)
        try:
            for name in ("a", "b", "c"):
                inst.start(name)
            wait_for(lambda: len(owners(store)) == 3, 40, "three live instances")
            wait_for(lambda: sum(owners(store).values()) == CHECKS, 20, "every check leased")
            time.sleep(INTERVAL)
            first_split = assert_split(store, 3)
            # The outage: the incident opens on the failing check's owner...
            wait_for(lambda: gh.issues(REPO), 30, "the incident's GitHub issue")
            owner = inst.pid_of(_owner_of(store, FAILING))
            inst.kill(owner)  # ...which dies mid-incident
            killed = [owner]
            time.sleep(2 * INTERVAL)
            second = next(n for n in inst.procs if n not in killed)
            inst.kill(second)
            killed.append(second)
            time.sleep(2 * INTERVAL)
            assert_split(store, 1)
            targets.down = False  # recovery, seen by the last instance standing
            wait_for(lambda: gh.issues(REPO)[0]["state"] == "closed", 20, "the issue to be closed")
            for name in ("d", "e"):  # restarts: new instances, new ids
                inst.start(name)
            wait_for(lambda: len(owners(store)) == 3, 30, "three live instances again")
            time.sleep(2 * INTERVAL)
            last_split = assert_split(store, 3)
            end = time.time()
        finally:
            codes = inst.stop_all()
        store_rows = _results(store, began)
        incidents = _incidents(store)
        left = list_instances(store)
        store.close()

    survivors = [n for n in inst.procs if n not in killed]
    for name in survivors:
        assert codes[name] == 0, inst.log(name)
    # A clean stop deregisters; the killed ones stay listed, as dead.
    assert sorted(i.pid for i in left) == sorted(inst.procs[n].pid for n in killed)
    assert not any(i.live for i in left)
    new_ids = {i for i in last_split if inst.pid_of(i) in ("d", "e")}
    assert len(new_ids) == 2 and len(set(first_split) & set(last_split)) == 1

    # Every check ran on schedule: never twice within an interval, never a gap over two.
    per_check: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for check, ts, instance, location in store_rows:
        per_check[check].append((ts, instance, location))
    assert len(per_check) == CHECKS
    start = max(rows[0][0] for rows in per_check.values())
    worst_gap, closest = 0.0, INTERVAL
    where: dict[str, Any] = {}
    for check, rows in per_check.items():
        rows.sort()
        times = [ts for ts, _, _ in rows if start <= ts <= end]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        if max(gaps) > worst_gap:
            k = gaps.index(max(gaps))
            where["gap"] = (check, [(round(ts - began, 2), i) for ts, i, _ in rows], k)
        if min(gaps) < closest:
            k = gaps.index(min(gaps))
            where["closest"] = (check, [(round(ts - began, 2), i) for ts, i, _ in rows], k)
        worst_gap, closest = max(worst_gap, *gaps), min(closest, *gaps)
        span = times[-1] - times[0]
        assert len(times) <= span / INTERVAL + 1.5, (check, len(times), span)
        assert all(inst_id and loc and loc.startswith("loc-") for _, inst_id, loc in rows)
    print(f"\n{len(store_rows)} results; closest runs {closest:.2f} s, worst gap {worst_gap:.2f} s")
    events = {name: round(at - began, 2) for name, at in inst.events}
    if closest < 0.5 * INTERVAL or worst_gap > 2 * INTERVAL:
        print(events)
        for what, (check, rows, k) in where.items():
            print(what, check, rows[max(0, k - 3) : k + 4])
    # Two runs of one slot would be close together; a late start (skipped when later than a
    # quarter of the interval) followed by an on-time run is still over 0.7 interval apart.
    assert closest >= 0.5 * INTERVAL, (f"a check ran twice within {closest:.2f} s", where, events)
    assert worst_gap <= 2 * INTERVAL, (f"{worst_gap:.2f} s without a result", where, events)

    # One outage, one incident, one issue, one resolution: across the handover.
    failing = [row for row in incidents if row.check_name == FAILING]
    assert len(failing) == 1 and failing[0].status == "resolved", failing
    assert len({inst_id for _, inst_id, _ in per_check[FAILING]}) >= 2
    (issue,) = gh.issues(REPO)
    assert issue["state"] == "closed"
    assert gh.count("POST", rf"/repos/{REPO}/issues$") == 1
    comments = [c["body"] for c in gh.comments(REPO, issue["number"])]
    assert sum("recovered" in c for c in comments) == 1
    assert time.time() - began < 110


def _owner_of(store: Any, check: str) -> str:
    with store.connect() as conn:
        owner = conn.execute(
            select(t.check_leases.c.owner).where(t.check_leases.c.check_name == check)
        ).scalar_one()
    return str(owner)


def _results(store: Any, since: float) -> list[Any]:
    r = t.check_results
    with store.connect() as conn:
        return list(
            conn.execute(
                select(r.c.check_name, r.c.ts, r.c.instance, r.c.location).where(r.c.ts >= since)
            )
        )


def _incidents(store: Any) -> list[Any]:
    with store.connect() as conn:
        return list(conn.execute(select(t.incidents)))


def test_rendezvous_moves_only_the_departed_share() -> None:
    keys = [(f"c{n}", env) for n in range(600) for env in ("", "prod")]
    three = rendezvous(keys, ["i1", "i2", "i3"])
    counts = defaultdict(int)
    for owner in three.values():
        counts[owner] += 1
    assert all(300 <= c <= 500 for c in counts.values()), counts
    two = rendezvous(keys, ["i1", "i3"])
    moved = [k for k in keys if three[k] != two[k]]
    assert all(three[k] == "i2" for k in moved)  # only i2's checks moved
    assert group_of(keys) == group_of(list(reversed(keys)))


@pytest.mark.parametrize("flag", ["", "two words"])
def test_bad_location_is_one_line(tmp_path: Path, flag: str) -> None:
    cfg = tmp_path / "shield.yaml"
    cfg.write_text(f'storage: "sqlite:///{tmp_path / "s.db"}"\nchecks: []\n')
    proc = subprocess.run(
        [*PRODSHIELD, "monitor", "run", "-c", str(cfg), "--location", flag, "--duration", "1s"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--location" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_rounds_split_take_over_and_fence(tmp_path: Path, pg_url: str) -> None:
    """Two members in one process: the split, a takeover after a lost lock, a fenced write."""
    from prodshield.config import load_config
    from prodshield.monitor.api import select_targets
    from prodshield.monitor.cluster import Cluster
    from prodshield.monitor.recorder import write_batch
    from prodshield.monitor.result import CheckResult

    cfg = tmp_path / "shield.yaml"
    checks = "\n".join(
        f"  - {{name: c{n}, type: tcp, host: 127.0.0.1, port: 9}}" for n in range(40)
    )
    cfg.write_text(f'storage: "{pg_url}"\ndefaults: {{interval: 10s}}\nchecks:\n{checks}\n')
    targets = select_targets(load_config(cfg).config)
    store = open_store(pg_url)
    one = Cluster(store, targets, heartbeat=1.0, location="x")
    two = Cluster(store, targets, heartbeat=1.0, location="y")
    try:
        one.join()
        assert len(one.round().acquired) == 40  # alone: everything
        two.join()
        two.round()  # sees one, wants its share, but one's leases are still valid
        released = one.round().released  # one gives the share back...
        gained = two.round().acquired  # ...and two claims it
        assert released == set(gained) and 10 <= len(gained) <= 30
        assert len(one.owned) + len(two.owned) == 40
        # one's process "dies": its lock goes, two takes everything over at once.
        one._close_lock()
        assert len(two.round().acquired) == 40 - len(gained)
        # one's late write is fenced: it no longer owns anything.
        key = next(iter(one.owned))
        late = CheckResult(key[0], key[1], time.time(), True, None, 1.0)
        assert write_batch(store, [late], [], owner=one.id) == 1
        assert write_batch(store, [late], [], owner=two.id, origin={"location": "y"}) == 0
        # one comes back (new lock): it learns it lost everything, then gets its share again.
        lost = set(one.owned)
        assert one.round().released == lost and not one.owned
    finally:
        two.leave()
        store.close()


def test_instances_in_the_api_and_the_cli(tmp_path: Path, pg_url: str) -> None:
    from starlette.testclient import TestClient

    from prodshield.config import load_config
    from prodshield.monitor.api import select_targets
    from prodshield.monitor.cluster import Cluster
    from prodshield.web import create_app

    cfg = tmp_path / "shield.yaml"
    cfg.write_text(
        f'storage: "{pg_url}"\nchecks:\n  - {{name: db, type: tcp, host: 127.0.0.1, port: 9}}\n'
    )
    loaded = load_config(cfg)
    store = open_store(pg_url)
    member = Cluster(store, select_targets(loaded.config), heartbeat=5.0, location="eu")
    try:
        member.join()
        member.round()
        app = create_app(loaded, store, token="t" * 32)
        with TestClient(app, base_url="http://127.0.0.1") as c:
            assert c.get("/api/v1/instances").status_code == 401
            body = c.get("/api/v1/instances", headers={"Authorization": "Bearer " + "t" * 32})
        assert body.status_code == 200
        (row,) = body.json()["instances"]
        assert row["id"] == member.id and row["state"] == "live" and row["owned"] == 1
        assert row["location"] == "eu"
        proc = subprocess.run(
            [*PRODSHIELD, "monitor", "instances", "-c", str(cfg), "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["checks"] == [
            {
                "check": "db",
                "environment": None,
                "owner": member.id,
                "owner_live": True,
                "lease_expires_at": data["checks"][0]["lease_expires_at"],
            }
        ]
    finally:
        member.leave()
        store.close()
