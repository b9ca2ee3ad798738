"""The template miner: conventions, enumerations, bounded state, stable ids across runs."""

from __future__ import annotations

from prodshield.logs.state import load_miner, save_miner
from prodshield.logs.templates import TemplateMiner, template_id
from prodshield.store import tables as t


def _feed(miner: TemplateMiner, lines: list[str]) -> None:
    for line in lines:
        miner.add(line)


def test_variables_follow_the_labelling_conventions() -> None:
    miner = TemplateMiner()
    m = miner.add("Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6")
    assert m.template == "Received block <*> of size <*> from <*>"
    assert m.params == ["blk_-1608999687919862906", "91178", "/10.250.10.6"]
    m = miner.add("Connecting to 10.0.0.1:5432 at 2024-03-12 as uid=0 via https://db.example/x?y=1")
    assert m.template == "Connecting to <*>:<*> at <*>-<*>-<*> as uid=<*> via https://<*>"
    assert miner.add("port 22 ssh2 SOCKS5").template == "port <*> ssh2 SOCKS5"


def test_words_that_vary_become_variables_and_few_states_stay() -> None:
    miner = TemplateMiner()
    users = [f"user{c}" for c in "abcdefgh"]
    _feed(
        miner,
        [f"Invalid user {u.replace('user', 'name')} from 10.0.0.{i}" for i, u in enumerate(users)],
    )
    assert miner.match("Invalid user zed from 10.0.0.9").template == "Invalid user <*> from <*>"
    _feed(
        miner,
        [
            f"job {i} moved from {a} to {b}"
            for i, (a, b) in enumerate([("NEW", "RUNNING"), ("RUNNING", "DONE")] * 5)
        ],
    )
    assert (
        miner.match("job 3 moved from NEW to RUNNING").template
        == "job <*> moved from NEW to RUNNING"
    )
    assert (
        miner.match("job 3 moved from RUNNING to DONE").template
        == "job <*> moved from RUNNING to DONE"
    )


def test_memory_grows_with_templates_not_lines() -> None:
    miner = TemplateMiner()
    for i in range(5000):
        miner.add(f"GET /item/{i} took {i % 97} ms for user{i} from 10.1.{i % 250}.{i % 7}")
    assert miner.cluster_count == 1
    assert len(miner.templates()) == 1


def test_ids_are_stable_across_runs_via_the_store(store) -> None:  # type: ignore[no-untyped-def]
    lines = [f"worker {i} finished batch {i * 7} in {i}ms" for i in range(50)]
    first = TemplateMiner()
    ids = {first.add(line).template_id for line in lines}
    assert ids == {template_id("worker <*> finished batch <*> in <*>")}
    save_miner(store, first, source="test")
    assert store.count(t.log_templates) == 1
    second = load_miner(store)
    match = second.add("worker 99 finished batch 1 in 5ms")
    assert match.template_id in ids
    assert second.templates()[0].count == 51
