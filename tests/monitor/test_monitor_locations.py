"""Checks run from several locations (``locations: N``): placement, lead and witnesses, the quorum.

Real PostgreSQL schemas throughout. The first tests drive :class:`Cluster` members in one process
(each with its own advisory lock, as separate processes would); the last one runs three real
`prodshield monitor run` processes in three locations against a loopback target that fails for
chosen locations only, with the GitHub stand-in as the notifier.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from prodshield.config import load_config
from prodshield.monitor.api import select_targets
from prodshield.monitor.cluster import Cluster, choose_locations, lease_owners
from prodshield.monitor.incidents import IncidentEngine
from prodshield.monitor.recorder import write_batch
from prodshield.monitor.result import CheckError, CheckResult
from prodshield.store import open_store
from prodshield.store import tables as t
from support.standins.github import GitHubStandin
from support.standins.loopback_app import serve_app

PRODSHIELD = [sys.executable, "-m", "prodshield"]


def _config(tmp: Path, pg_url: str, extra: str = "") -> Path:
    cfg = tmp / "shield.yaml"
    cfg.write_text(
        f'storage: "{pg_url}"\n'
        "defaults: {interval: 10s, timeout: 1s, failure_threshold: 1, success_threshold: 1}\n"
        "notifiers:\n  hook: {type: webhook, url: 'http://127.0.0.1:9/hook'}\n"
        "checks:\n"
        "  - {name: plain, type: tcp, host: 127.0.0.1, port: 9}\n"
        "  - {name: two, type: tcp, host: 127.0.0.1, port: 9, locations: 2}\n"
        "  - {name: three, type: tcp, host: 127.0.0.1, port: 9, locations: 3}\n" + extra
    )
    return cfg


def _slots(store: Any) -> dict[str, dict[str, str]]:
    return {
        key[0]: {slot: who for slot, (who, _) in v.items()}
        for key, v in lease_owners(store).items()
    }


def test_each_location_runs_a_located_check_once_and_one_leads(tmp_path: Path, pg_url: str) -> None:
    targets = select_targets(load_config(_config(tmp_path, pg_url)).config)
    store = open_store(pg_url)
    members = [
        Cluster(store, targets, heartbeat=1.0, location=loc) for loc in ("eu", "eu", "us", "ap")
    ]
    try:
        for m in members:
            m.join()
        for _ in range(3):  # a few rounds: claims, give-backs, claims of what was given back
            for m in members:
                m.round()
        slots = _slots(store)
        by_id = {m.id: m for m in members}
        # A plain check: one lease, slot "". Two locations: two leases, in the two chosen ones.
        assert set(slots["plain"]) == {""}
        assert set(slots["two"]) == set(choose_locations(("two", ""), ["ap", "eu", "us"], 2))
        assert set(slots["three"]) == {"eu", "us", "ap"}
        for check in ("two", "three"):
            for slot, owner in slots[check].items():
                assert by_id[owner].location == slot  # each slot run from its own location
            runners = [m for m in members if (check, "") in m.owned]
            assert len(runners) == len(slots[check])
            # Exactly one of them judges the check (the lead); the others are witnesses.
            leads = [m for m in runners if (check, "") not in m.witness]
            assert len(leads) == 1
            lead_location = choose_locations((check, ""), ["ap", "eu", "us"], 9)[0]
            assert leads[0].location == lead_location
        assert not any(m.short for m in members)

        # The only "ap" instance dies: "three" runs from two locations, and says so.
        ap = next(m for m in members if m.location == "ap")
        ap._close_lock()
        alive = [m for m in members if m is not ap]
        for _ in range(2):
            for m in alive:
                m.round()
        assert all(m.short == {("three", ""): 2} for m in alive)
        slots = _slots(store)
        live_slots = {s for s, who in slots["three"].items() if by_id[who] is not ap}
        assert live_slots == {"eu", "us"}
        # "two" needs two of the two locations left.
        assert {s for s, who in slots["two"].items() if by_id[who] is not ap} == {"eu", "us"}
        assert sum(("three", "") in m.owned for m in alive) == 2
        assert sum(("three", "") not in m.witness for m in alive if ("three", "") in m.owned) == 1
    finally:
        for m in members:
            m.leave()
        store.close()


def _result(check: str, ts: float, ok: bool) -> CheckResult:
    error = None if ok else CheckError("timeout", "no answer within 1s")
    return CheckResult(check, "", ts, ok, error, 5.0 if ok else None)


def test_down_only_when_a_quorum_of_locations_agrees(tmp_path: Path, pg_url: str) -> None:
    """Witnesses' results are stored, not judged; the lead judges over every location's latest."""
    loaded = load_config(_config(tmp_path, pg_url))
    store = open_store(pg_url)
    engine = IncidentEngine(loaded.config)

    def write(location: str, ok: bool, ts: float, *, lead: bool = False) -> None:
        witness = () if lead else {("three", "")}
        write_batch(
            store,
            [_result("three", ts, ok)],
            [],
            engine,
            origin={"instance": f"i-{location}", "location": location},
            witness=witness,
        )

    def incidents() -> list[Any]:
        with store.connect() as conn:
            return list(conn.execute(select(t.incidents).order_by(t.incidents.c.id)).all())

    def outbox() -> list[Any]:
        with store.connect() as conn:
            return list(conn.execute(select(t.outbox).order_by(t.outbox.c.id)).all())

    try:
        now = time.time() - 100
        # One location fails (failure_threshold 1): the witness alone opens nothing...
        write("us", False, now)
        assert incidents() == []
        write("ap", True, now + 0.1)
        # ...and the lead, fine itself, outvotes it: 1 of 3 failing is not a quorum of 2.
        write("eu", True, now + 0.2, lead=True)
        assert incidents() == []
        # The lead fails too: 2 of 3, the check is down.
        write("us", False, now + 10)
        write("ap", True, now + 10.1)
        write("eu", False, now + 10.2, lead=True)
        (opened,) = incidents()
        assert opened.status == "open"
        (event,) = outbox()
        fields = event.payload["fields"]
        assert fields["locations"] == "2 of 3 failing; failing: eu, us; ok: ap"
        assert "Locations: 2 of 3 failing" in event.payload["body"]
        # The lead recovers but two others fail: still down, nothing new (same error).
        write("us", False, now + 20)
        write("ap", False, now + 20.1)
        write("eu", True, now + 20.2, lead=True)
        assert [i.status for i in incidents()] == ["open"]
        # One failing location left: the verdict is up, the incident resolves (threshold 1).
        write("us", True, now + 30)
        write("ap", True, now + 30.1)
        write("eu", False, now + 30.2, lead=True)
        (resolved,) = incidents()
        assert resolved.status == "resolved"
        assert [e.event_type for e in outbox()] == ["incident.opened", "incident.resolved"]
        # A location that stopped reporting has no vote: its last failure is too old to count.
        write("eu", False, now + 60, lead=True)
        assert [i.status for i in incidents()] == ["resolved", "open"]
        with store.connect() as conn:
            stored = Counter(
                r.location for r in conn.execute(select(t.check_results.c.location)).all()
            )
        assert stored == {"us": 4, "ap": 4, "eu": 5}  # every location's result is kept
        # The dashboard and the API say where each result came from.
        from starlette.testclient import TestClient

        from prodshield.web import create_app
        from support.web_seed import TOKEN, login

        with TestClient(create_app(loaded, store, token=TOKEN), base_url="http://127.0.0.1") as c:
            api = c.get("/api/v1/checks/three", headers={"Authorization": f"Bearer {TOKEN}"})
            login(c)
            page = c.get("/dashboard/checks/three").text
        recent = api.json()["environments"][0]["recent_results"]
        assert [r["location"] for r in recent[:4]] == ["eu", "eu", "ap", "us"]
        assert "<th>location</th>" in page and '<td class="location">ap</td>' in page
    finally:
        store.close()


def test_quorum_is_checked_when_the_config_loads(tmp_path: Path, pg_url: str) -> None:
    for extra, message in (
        ("  - {name: q, type: tcp, host: h, port: 1, quorum: 2}\n", "quorum needs locations"),
        (
            "  - {name: q, type: tcp, host: h, port: 1, locations: 2, quorum: 3}\n",
            "quorum 3 is more than locations 2",
        ),
        ("  - {name: q, type: tcp, host: h, port: 1, locations: 0}\n", "locations"),
        ("  - {name: q, type: heartbeat, period: 1h, locations: 2}\n", "pinged, not probed"),
    ):
        cfg = _config(tmp_path, pg_url, extra)
        proc = subprocess.run(
            [*PRODSHIELD, "config", "check", "-c", str(cfg)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode != 0
        assert message in proc.stderr and "shield.yaml:9" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


# --- three real instances in three locations ---------------------------------------------------

TOKEN = "ghp_" + "L" * 36
REPO = "acme/edge"
INTERVAL = 2.0


class Edge:
    """``/from/{location}`` answers 503 for the locations in ``failing``, 200 for the others."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.hits: Counter[str] = Counter()
        self.url = ""

    async def probe(self, request: web.Request) -> web.Response:
        loc = request.match_info["location"]
        self.hits[loc] += 1
        return web.Response(text=loc, status=503 if loc in self.failing else 200)


@contextmanager
def edge_server() -> Iterator[Edge]:
    edge = Edge()
    with serve_app(lambda app: app.router.add_get("/from/{location}", edge.probe)) as url:
        edge.url = url
        yield edge


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_three_locations_one_failing_location_pages_nobody(tmp_path: Path, pg_url: str) -> None:
    with edge_server() as edge, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        cfg = tmp_path / "shield.yaml"
        cfg.write_text(
            f'storage: "{pg_url}"\n'
            f"defaults: {{interval: {INTERVAL:g}s, timeout: 1s, failure_threshold: 2, "
            "success_threshold: 2}\n"
            "notifiers:\n"
            f'  gh: {{type: github, repo: {REPO}, token: "${{GITHUB_TOKEN}}", '
            f'api_url: "{gh.url}"}}\n'
            "checks:\n"
            f"  - {{name: edge, type: http, url: '{edge.url}/from/${{PRODSHIELD_LOCATION}}', "
            "locations: 3, conditions: ['[STATUS] == 200']}\n"
        )
        procs: dict[str, subprocess.Popen[bytes]] = {}
        lead = ""
        store = open_store(pg_url)
        try:
            for loc in ("eu", "us", "ap"):
                log = (tmp_path / f"{loc}.log").open("wb")
                procs[loc] = subprocess.Popen(
                    [*PRODSHIELD, "monitor", "run", "-c", str(cfg)],
                    env={**os.environ, "GITHUB_TOKEN": TOKEN, "PRODSHIELD_LOCATION": loc},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                log.close()
            _wait(lambda: all(edge.hits[loc] >= 2 for loc in procs), 40, "every location probing")
            # One location sees the target down for five intervals: nobody is paged.
            edge.failing = {"us"}
            hits = edge.hits["us"]
            _wait(lambda: edge.hits["us"] >= hits + 5, 30, "five failures from us")
            assert gh.issues(REPO) == []
            with store.connect() as conn:
                state = conn.execute(select(t.check_state.c.status)).scalar_one()
            assert state == "up"
            # A second location agrees: one incident, one issue, whoever leads.
            edge.failing = {"us", "ap"}
            _wait(lambda: gh.issues(REPO), 30, "the incident's GitHub issue")
            (issue,) = gh.issues(REPO)
            assert "2 of 3 failing" in issue["body"] and "ok: eu" in issue["body"], issue["body"]
            info = subprocess.run(
                [*PRODSHIELD, "monitor", "instances", "-c", str(cfg), "--format", "json"],
                env={**os.environ, "GITHUB_TOKEN": TOKEN, "PRODSHIELD_LOCATION": "eu"},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert info.returncode == 0, info.stderr
            (row,) = json.loads(info.stdout)["checks"]
            assert set(row["locations"]) == {"eu", "us", "ap"}
            assert all(v["owner_live"] for v in row["locations"].values())
            # Everywhere down, and the lead's instance is killed mid-incident: the next location
            # in line leads, and continues the same incident (no second issue).
            edge.failing = {"eu", "us", "ap"}
            lead = choose_locations(("edge", ""), ["ap", "eu", "us"], 3)[0]
            time.sleep(INTERVAL)
            procs[lead].send_signal(signal.SIGKILL)
            procs[lead].wait(10)
            time.sleep(4 * INTERVAL)
            (issue,) = gh.issues(REPO)
            assert issue["state"] == "open"
            edge.failing = set()
            _wait(lambda: gh.issues(REPO)[0]["state"] == "closed", 30, "the issue to be closed")
            with store.connect() as conn:
                (incident,) = conn.execute(select(t.incidents)).all()
            assert incident.status == "resolved"
        finally:
            for p in procs.values():
                p.terminate()
            codes = {loc: p.wait(30) for loc, p in procs.items()}
            with store.connect() as conn:
                per_location = Counter(
                    r.location for r in conn.execute(select(t.check_results.c.location)).all()
                )
            store.close()
        assert codes == {loc: -9 if loc == lead else 0 for loc in procs}, [
            (tmp_path / f"{loc}.log").read_text() for loc in procs
        ]
        assert gh.count("POST", rf"/repos/{REPO}/issues$") == 1
        comments = [c["body"] for c in gh.comments(REPO, issue["number"])]
        assert sum("recovered" in c for c in comments) == 1
        # Each location ran the check every interval (a few more or less at the ends).
        assert set(per_location) == {"eu", "us", "ap"}
        counts = sorted(n for loc, n in per_location.items() if loc != lead)
        assert counts[0] >= counts[-1] - 3, per_location
