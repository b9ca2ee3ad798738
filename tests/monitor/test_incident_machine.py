"""Model-based test of the incident state machine (prodshield.monitor.incident_machine.step).

Hypothesis generates histories of results: gaps, duplicates, late and out-of-order results,
several locations judged by a quorum, maintenance windows, manual resolutions and restarts (the
state written as its ``check_state`` row, through JSON, and read back) between any two results.
A simple model, kept apart from the machine, replays the same history and checks the invariants
the docs promise (docs/monitor.md, "Incidents"):

- at most one open incident per (check, environment);
- no incident opens on a success; first failing result <= opened_at <= resolved_at;
- a flapping period is one incident, resolved by the first passing result that finds the check
  stable for ``flap_stable`` (and not before);
- every incident gets exactly one "opened" and one "resolved" event;
- downtime agrees with the results: every failing result of a streak long enough to count lies
  inside an incident, and a down incident starts at a failing result and ends at the first
  passing result after its last failure.

A second, smaller property runs generated histories through the real IncidentEngine on SQLite,
a new engine per "restart", and counts the outbox rows per notifier.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from prodshield.monitor.incident_machine import (
    OPENED,
    REMINDER,
    RESOLVED,
    UPDATED,
    MachineState,
    Rules,
    Verdict,
    quorum_fails,
    step,
)

RULES = [
    Rules(
        failure_threshold=3, success_threshold=2, flap_threshold=4, flap_window=600, flap_stable=300
    ),
    Rules(
        failure_threshold=1, success_threshold=1, flap_threshold=2, flap_window=120, flap_stable=60
    ),
    Rules(
        failure_threshold=2,
        success_threshold=3,
        flap_threshold=6,
        flap_window=3600,
        flap_stable=900,
        remind_every=120,
    ),
]
LOCATIONS = ("", "eu", "us")
FRESH = 150.0  # how long another location's result still votes (two intervals and a timeout)

result_op = st.tuples(
    st.just("result"),
    st.sampled_from([0.0, 1.0, 30.0, 60.0, 60.0, 60.0, 61.0, 400.0, 1000.0]),  # 0: duplicate
    st.booleans(),  # ok
    st.sampled_from(LOCATIONS),
    st.booleans() | st.just(False),  # maintenance (less often)
    st.sampled_from(["down", "down", "degraded", "certificate"]),
)
late_op = st.tuples(st.just("late"), st.sampled_from([1.0, 30.0, 300.0]), st.booleans())
ops = st.lists(
    st.one_of(
        result_op,
        result_op,
        result_op,
        result_op,
        late_op,
        st.just(("restart",)),
        st.just(("manual",)),
    ),
    max_size=120,
)
phases = st.lists(
    st.tuples(st.integers(1, 8), st.integers(1, 8)), min_size=1, max_size=12
)  # (failures, successes) runs, to reach long outages and fast flapping alike


@dataclass
class Incident:
    kind: str
    opened_at: float
    opened_events: int = 1
    resolved_events: int = 0
    resolved_at: float | None = None
    closed_by_hand: bool = False
    closed_at: float | None = None


@dataclass
class Model:
    rules: Rules
    quorum: int
    state: MachineState = field(default_factory=MachineState)
    incidents: list[Incident] = field(default_factory=list)
    last_ts: float | None = None
    latest: dict[str, tuple[float, bool]] = field(default_factory=dict)
    counted: list[tuple[float, bool]] = field(default_factory=list)
    """Accepted results that count (not late, not a failure in maintenance), in order."""
    streak_start: int = 0  # index in ``counted`` where the current streak (or fresh start) begins
    last_change: float | None = None
    clock: float = 1_000_000.0

    @property
    def open(self) -> Incident | None:
        return next(
            (i for i in self.incidents if i.resolved_at is None and not i.closed_by_hand), None
        )

    def feed(self, ts: float, ok: bool, kind: str = "down", maintenance: bool = False) -> None:
        verdict = Verdict(
            ts=ts, ok=ok, kind=kind, error_kind=None if ok else "condition", maintenance=maintenance
        )
        before = self.state
        new, events = step(before, verdict, self.rules)
        late = self.last_ts is not None and ts <= self.last_ts
        if late:
            assert events == [] and new == before, "a late or duplicate result changed the state"
            return
        self.last_ts = ts
        if maintenance and not ok:
            assert events == [], "a failure in a maintenance window changed an incident"
            self.state = new
            return
        if self.counted and self.counted[-1][1] != ok:
            self.last_change = ts
        if self.last_change is None:
            self.last_change = ts
        self.counted.append((ts, ok))
        for event in events:
            self.apply(event, verdict)
        self.state = new
        # The phase agrees with the incidents the model holds.
        assert (self.open is not None) == (new.open_kind is not None)

    def apply(self, event: object, verdict: Verdict) -> None:
        etype, kind, at = event.type, event.kind, event.at  # type: ignore[attr-defined]
        current = self.open
        if etype == OPENED:
            assert current is None, "a second incident opened while one is open"
            assert not verdict.ok, "an incident opened on a success"
            failing_ts = {ts for ts, ok in self.counted if not ok}
            assert at in failing_ts and at <= verdict.ts, "opened_at is not a failing result"
            if kind == "flapping":
                assert at == verdict.ts
            else:
                # the first failure of the current streak
                streak = self._current_streak()
                assert streak and at == streak[0][0]
                assert len(streak) >= self.rules.failure_threshold
            self.incidents.append(Incident(kind, at))
            return
        assert current is not None, f"{etype} without an open incident"
        if etype == RESOLVED:
            assert verdict.ok, "resolved on a failure"
            assert at >= current.opened_at, "resolved before it opened"
            assert at <= verdict.ts
            if current.kind == "flapping":
                assert at == verdict.ts
                assert verdict.ts - (self.last_change or 0) >= self.rules.flap_stable
            else:
                streak = self._current_streak()
                assert all(ok for _, ok in streak)
                assert len(streak) >= self.rules.success_threshold
                assert at == streak[0][0], "resolved_at is not the first success of the recovery"
            current.resolved_at = at
            current.resolved_events += 1
        else:
            assert etype in (UPDATED, REMINDER) and not verdict.ok

    def _current_streak(self) -> list[tuple[float, bool]]:
        out: list[tuple[float, bool]] = []
        for ts, ok in reversed(self.counted[self.streak_start :]):
            if out and ok != out[0][1]:
                break
            out.insert(0, (ts, ok))
        return out

    def flapping_open_but_stable(self, ts: float, ok: bool) -> bool:
        inc = self.open
        return (
            inc is not None
            and inc.kind == "flapping"
            and ok
            and bool(self.counted)
            and self.counted[-1][1]  # this result is no change of state
            and self.last_change is not None
            and ts - self.last_change >= self.rules.flap_stable
        )

    def restart(self) -> None:
        row = json.loads(json.dumps(self.state.as_row()))
        again = MachineState.from_row(row)
        assert again == self.state
        self.state = again

    def manual(self) -> None:
        inc = self.open
        if inc is None:
            return
        inc.closed_by_hand = True
        inc.closed_at = self.last_ts
        self.state = self.state.forget_incident()
        self.streak_start = len(self.counted)

    def located(self, ts: float, ok: bool, location: str) -> bool:
        """The verdict over every location's latest fresh result (this one included)."""
        self.latest[location] = (ts, ok)
        votes = {loc: v for loc, (t, v) in self.latest.items() if t >= ts - FRESH and t <= ts}
        return not quorum_fails(votes, self.quorum)


def run_history(rules: Rules, quorum: int, history: list[tuple[Any, ...]]) -> Model:
    m = Model(rules, quorum)
    for op in history:
        if op[0] == "restart":
            m.restart()
        elif op[0] == "manual":
            m.manual()
        elif op[0] == "late":
            if m.last_ts is not None:
                m.feed(m.last_ts - op[1], op[2])
        else:
            _, gap, ok, location, maintenance, kind = op
            m.clock += gap
            verdict_ok = m.located(m.clock, ok, location)
            stable_flap = m.flapping_open_but_stable(m.clock, verdict_ok)
            before = len([i for i in m.incidents if i.resolved_at is not None])
            m.feed(m.clock, verdict_ok, kind, maintenance)
            after = len([i for i in m.incidents if i.resolved_at is not None])
            if stable_flap and not (maintenance and not verdict_ok):
                assert after == before + 1, "a stable flapping incident was not resolved"
    # Settle: passing results far apart resolve whatever is open, exactly once.
    for _ in range(rules.success_threshold + 1):
        m.clock += rules.flap_stable + 1
        m.latest.clear()
        m.feed(m.clock, True)
    assert m.open is None
    for inc in m.incidents:
        assert inc.opened_events == 1
        assert inc.resolved_events == (0 if inc.closed_by_hand else 1)
        if inc.resolved_at is not None:
            assert inc.opened_at <= inc.resolved_at
    check_coverage(m)
    return m


def check_coverage(m: Model) -> None:
    """Every failing result of a streak long enough to count lies in an incident's span (the
    uptime figures and the incidents' downtime tell the same story)."""
    spans = [
        (i.opened_at, i.resolved_at if i.resolved_at is not None else i.closed_at or i.opened_at)
        for i in m.incidents
    ]
    spans.sort()
    for (_a0, a1), (b0, _b1) in itertools.pairwise(spans):
        assert a1 <= b0, "two incidents overlap"
    if any(i.closed_by_hand for i in m.incidents):
        return  # a manual resolution ends the span early on purpose
    run: list[float] = []
    for ts, ok in [*m.counted, (float("inf"), True)]:
        if not ok:
            run.append(ts)
            continue
        if len(run) >= m.rules.failure_threshold:
            for f in run:
                assert any(lo <= f < hi for lo, hi in spans), f"failure at {f} in no incident"
        run = []


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.sampled_from(RULES), quorum=st.integers(1, 3), history=ops)
def test_generated_histories_keep_the_invariants(
    rules: Rules, quorum: int, history: list[Any]
) -> None:
    run_history(rules, quorum, history)


@settings(max_examples=150, deadline=None)
@given(rules=st.sampled_from(RULES), runs=phases, restart_every=st.integers(1, 7))
def test_outages_and_flapping_in_runs(rules: Rules, runs: list[Any], restart_every: int) -> None:
    """Runs of failures and successes (one location, a result a minute), with restarts: long runs
    are one down incident each; short ones alternating make one flapping incident at most per
    flapping period."""
    history: list[tuple[Any, ...]] = []
    for n, (fails, oks) in enumerate(runs):
        history += [("result", 60.0, False, "", False, "down")] * fails
        history += [("result", 60.0, True, "", False, "down")] * oks
        if n % restart_every == 0:
            history.append(("restart",))
    m = run_history(rules, 1, history)
    # One down incident per run of failures long enough (when no flapping incident covers it).
    if not any(i.kind == "flapping" for i in m.incidents):
        long_runs = 0
        open_run = False
        for fails, oks in runs:
            if fails >= rules.failure_threshold and not open_run:
                long_runs += 1
                open_run = True
            if open_run and oks >= rules.success_threshold:
                open_run = False
        assert len(m.incidents) == long_runs
        if all(oks >= rules.success_threshold for _, oks in runs):
            # Downtime agrees with the uptime figures: the incidents last exactly as long as the
            # failing results of the runs long enough to count (one result a minute).
            counted = sum(f for f, _ in runs if f >= rules.failure_threshold)
            assert all(i.resolved_at is not None for i in m.incidents)
            downtime = sum(((i.resolved_at or 0.0) - i.opened_at for i in m.incidents), 0.0)
            assert downtime == 60.0 * counted


def test_the_demo_pattern_never_flaps() -> None:
    """40 s failing of every 150 s, probed every 5 s, for 24 windows: 24 down incidents."""
    rules = Rules()  # the defaults: 3, 2, 6 flaps in 1 h, stable 10 min
    history: list[tuple[Any, ...]] = []
    for _ in range(24):
        history += [("result", 5.0, True, "", False, "down")] * 22
        history += [("result", 5.0, False, "", False, "down")] * 8
    m = run_history(rules, 1, history)
    assert [i.kind for i in m.incidents] == ["down"] * 24
    # 8 failing results 5 s apart: 40 s from the first failure to the first success after
    # (the last window ends with the settling results, further apart)
    assert [i.resolved_at - i.opened_at for i in m.incidents[:-1]] == [40.0] * 23  # type: ignore[operator]


# --- the same through the real engine, store and outbox ------------------------------------------

ENGINE_CONFIG = """
environments: {production: {}}
defaults: {failure_threshold: 2, success_threshold: 2, flap_threshold: 4, flap_window: 20m,
           flap_stable: 5m}
notifiers:
  gh: {type: github, repo: acme/hive, token: x}
  ops: {type: slack, webhook_url: "http://127.0.0.1:9/hook"}
checks:
  - {name: api, type: http, url: "http://x/", environments: [production]}
"""


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from([60.0, 60.0, 0.0, -30.0, 400.0]), st.booleans(), st.booleans()),
        max_size=40,
    )
)
def test_engine_sends_one_opened_and_one_resolved_per_notifier(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[float, bool, bool]]
) -> None:
    from prodshield.config import parse_config
    from prodshield.monitor.incidents import CheckOutcome, IncidentEngine
    from prodshield.store import open_store
    from prodshield.store import tables as t

    config = parse_config(ENGINE_CONFIG, env={}).config
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('m') / 's.db'}")
    try:
        ts = 1_000_000.0
        engine = IncidentEngine(config)
        tail = [(400.0, True, False)] * 3
        for gap, ok, restart in [*steps, *tail]:
            ts += gap
            if restart:
                engine = IncidentEngine(config)  # a new process: the state comes from the store
            with store.begin() as conn:
                obs = CheckOutcome("api", "production", ts, ok, None if ok else "refused", "no")
                engine.process(conn, [obs], now=ts)
        with store.connect() as conn:
            incidents = conn.execute(select(t.incidents)).all()
            rows = conn.execute(
                select(t.outbox.c.notifier, t.outbox.c.event_type, t.outbox.c.idempotency_key)
            ).all()
    finally:
        store.close()
    for inc in incidents:
        assert inc.status == "resolved" and inc.opened_at <= inc.resolved_at
        prefix = f"incident:{inc.id}:"
        for notifier in ("gh", "ops"):
            types = [
                r.event_type
                for r in rows
                if r.idempotency_key.startswith(prefix) and r.notifier == notifier
            ]
            assert types.count("incident.opened") == 1 and types.count("incident.resolved") == 1
    open_at = sorted((i.opened_at, i.resolved_at) for i in incidents)
    for (_a, a1), (b0, _b) in itertools.pairwise(open_at):
        assert a1 <= b0
