"""The fail-over scenario of several `prodshield monitor run` processes on one PostgreSQL store.

Shared by ``tests/monitor/test_monitor_cluster.py`` (100 checks every 4 s, in CI) and
``benchmarks/failover.py`` (3,000 checks, in full): three instances start; the owner of a failing
check is killed with SIGKILL in the middle of its incident, then a second instance; the target
recovers; two new instances start. :func:`run_failover` returns what was measured and the list of
what went wrong (empty when every check ran once per interval with no gap over two intervals, one
incident, one GitHub issue created and closed once, and even splits before and after).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from prodshield.monitor.cluster import list_instances
from prodshield.store import open_store
from prodshield.store import tables as t
from support.standins.github import GitHubStandin
from support.standins.loopback_app import serve_app

TOKEN = "ghp_" + "C" * 36
REPO = "acme/hive"
FAILING = "checkout"


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

    def routes(app: web.Application) -> None:
        app.router.add_get("/ok/{n}", targets.ok)
        app.router.add_get("/checkout", targets.checkout)

    with serve_app(routes) as url:
        targets.url = url
        yield targets


def write_config(
    tmp: Path, pg_url: str, base: str, api_url: str, checks: int, interval: float
) -> Path:
    lines = [
        f'storage: "{pg_url}"',
        f"defaults: {{interval: {interval:g}s, timeout: 1s, failure_threshold: 2, "
        "success_threshold: 2}",
        "notifiers:",
        f'  gh: {{type: github, repo: {REPO}, token: "${{GITHUB_TOKEN}}", api_url: "{api_url}"}}',
        "checks:",
        f"  - {{name: {FAILING}, type: http, url: '{base}/checkout', "
        "conditions: ['[STATUS] == 200']}",
    ]
    lines += [
        f"  - {{name: svc-{n:04d}, type: http, url: '{base}/ok/{n}', alerts: []}}"
        for n in range(checks - 1)
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
        codes: dict[str, int | None] = {}
        for name, p in self.procs.items():
            try:
                codes[name] = p.wait(60)
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


def fair(held: dict[str, int], count: int, checks: int) -> bool:
    """``count`` live instances, every check leased by one of them, each holding a fair share."""
    return (
        len(held) == count
        and sum(held.values()) == checks
        and all(checks / count * 0.4 <= n <= checks / count * 1.8 for n in held.values())
    )


def assert_split(store: Any, count: int, checks: int, timeout: float = 10.0) -> dict[str, int]:
    """Wait for a fair split (a loaded machine can make one heartbeat late for a moment)."""
    deadline = time.monotonic() + timeout
    held = owners(store)
    while not fair(held, count, checks) and time.monotonic() < deadline:
        time.sleep(0.25)
        held = owners(store)
    assert fair(held, count, checks), held
    return held


def owner_of(store: Any, check: str) -> str:
    with store.connect() as conn:
        owner = conn.execute(
            select(t.check_leases.c.owner).where(t.check_leases.c.check_name == check)
        ).scalar_one()
    return str(owner)


def stored_results(store: Any, since: float) -> list[Any]:
    r = t.check_results
    with store.connect() as conn:
        return list(
            conn.execute(
                select(r.c.check_name, r.c.ts, r.c.instance, r.c.location).where(r.c.ts >= since)
            )
        )


@dataclass
class Failover:
    checks: int
    interval: float
    results: int = 0
    closest: float = 0.0
    """The shortest time between two results of one check (two runs of one slot if < interval/2)."""
    worst_gap: float = 0.0
    incidents: int = 0
    issues_created: int = 0
    recovered_comments: int = 0
    splits: list[list[int]] = field(default_factory=list)
    """Leases per live instance: with three, with one left, with three again."""
    seconds: float = 0.0
    events: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def run_failover(tmp: Path, pg_url: str, checks: int, interval: float) -> Failover:
    """The whole scenario; raises only when a step times out (then nothing can be measured)."""
    out = Failover(checks, interval)
    began = time.time()
    split_wait = max(10.0, interval)
    with serve_targets() as targets, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        cfg = write_config(tmp, pg_url, targets.url, gh.url, checks, interval)
        inst = Instances(cfg, tmp)
        store = open_store(pg_url)
        try:
            for name in ("a", "b", "c"):
                inst.start(name)
            wait_for(lambda: len(owners(store)) == 3, 40, "three live instances")
            wait_for(lambda: sum(owners(store).values()) == checks, 20, "every check leased")
            time.sleep(interval)
            first_split = assert_split(store, 3, checks, split_wait)
            # The outage: the incident opens on the failing check's owner...
            wait_for(lambda: gh.issues(REPO), 10 * interval + 10, "the incident's GitHub issue")
            owner = inst.pid_of(owner_of(store, FAILING))
            inst.kill(owner)  # ...which dies mid-incident
            killed = [owner]
            time.sleep(2 * interval)
            second = next(n for n in inst.procs if n not in killed)
            inst.kill(second)
            killed.append(second)
            time.sleep(2 * interval)
            lone = assert_split(store, 1, checks, split_wait)
            targets.down = False  # recovery, seen by the last instance standing
            wait_for(
                lambda: gh.issues(REPO)[0]["state"] == "closed",
                5 * interval + 10,
                "the issue to be closed",
            )
            for name in ("d", "e"):  # restarts: new instances, new ids
                inst.start(name)
            wait_for(lambda: len(owners(store)) == 3, 30, "three live instances again")
            time.sleep(2 * interval)
            last_split = assert_split(store, 3, checks, split_wait)
            end = time.time()
        finally:
            codes = inst.stop_all()
        rows = stored_results(store, began)
        with store.connect() as conn:
            incidents = list(conn.execute(select(t.incidents)))
        left = list_instances(store)
        store.close()
        out.issues_created = gh.count("POST", rf"/repos/{REPO}/issues$")
        issues = gh.issues(REPO)
        comments = [c["body"] for c in gh.comments(REPO, issues[0]["number"])] if issues else []

    out.seconds = time.time() - began
    out.results = len(rows)
    out.events = {name: round(at - began, 2) for name, at in inst.events}
    out.splits = [sorted(first_split.values()), sorted(lone.values()), sorted(last_split.values())]
    problems = out.problems
    survivors = [n for n in inst.procs if n not in killed]
    for name in survivors:
        if codes[name] != 0:
            problems.append(f"{name} exited {codes[name]}: {inst.log(name)[-2000:]}")
    # A clean stop deregisters; the killed ones stay listed, as dead.
    if sorted(i.pid for i in left) != sorted(inst.procs[n].pid for n in killed):
        problems.append(f"registered after the stop: {[(i.id, i.live) for i in left]}")
    if any(i.live for i in left):
        problems.append("an instance still live after the stop")
    new_ids = {i for i in last_split if inst.pid_of(i) in ("d", "e")}
    if len(new_ids) != 2 or len(set(first_split) & set(last_split)) != 1:
        problems.append(f"the last split is not the survivor and the two new: {last_split}")

    # Every check ran on schedule: never twice within an interval, never a gap over two.
    per_check: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for check, ts, instance, location in rows:
        per_check[check].append((ts, instance, location))
    if len(per_check) != checks:
        problems.append(f"{len(per_check)} of {checks} checks have results")
    start = max(r[0][0] for r in per_check.values()) if per_check else began
    worst_gap, closest = 0.0, interval
    where: dict[str, Any] = {}
    for check, check_rows in per_check.items():
        check_rows.sort()
        times = [ts for ts, _, _ in check_rows if start <= ts <= end]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        if not gaps:
            problems.append(f"{check}: fewer than two results")
            continue
        if max(gaps) > worst_gap:
            k = gaps.index(max(gaps))
            where["gap"] = (check, [(round(ts - began, 2), i) for ts, i, _ in check_rows], k)
        if min(gaps) < closest:
            k = gaps.index(min(gaps))
            where["closest"] = (check, [(round(ts - began, 2), i) for ts, i, _ in check_rows], k)
        worst_gap, closest = max(worst_gap, *gaps), min(closest, *gaps)
        span = times[-1] - times[0]
        if len(times) > span / interval + 1.5:
            problems.append(f"{check}: {len(times)} results in {span:.1f} s")
        if not all(inst_id and loc and loc.startswith("loc-") for _, inst_id, loc in check_rows):
            problems.append(f"{check}: a result without its instance or location")
    out.worst_gap, out.closest = worst_gap, closest
    # Two runs of one slot would be close together; a late start (skipped when later than a
    # quarter of the interval) followed by an on-time run is still over 0.7 interval apart.
    if closest < 0.5 * interval:
        problems.append(f"a check ran twice within {closest:.2f} s: {where['closest']}")
    if worst_gap > 2 * interval:
        problems.append(f"{worst_gap:.2f} s without a result: {where['gap']}")

    # One outage, one incident, one issue, one resolution: across the handover.
    failing = [row for row in incidents if row.check_name == FAILING]
    out.incidents = len(failing)
    if len(failing) != 1 or failing[0].status != "resolved":
        problems.append(f"incidents of the failing check: {failing}")
    if len({inst_id for _, inst_id, _ in per_check[FAILING]}) < 2:
        problems.append("the failing check never changed hands")
    if len(issues) != 1 or issues[0]["state"] != "closed":
        problems.append(f"GitHub issues: {[(i['number'], i['state']) for i in issues]}")
    if out.issues_created != 1:
        problems.append(f"{out.issues_created} issues created")
    out.recovered_comments = sum("recovered" in c for c in comments)
    if out.recovered_comments != 1:
        problems.append(f"{out.recovered_comments} 'recovered' comments")
    return out
