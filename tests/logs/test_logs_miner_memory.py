"""The miner's caches are bounded by the characters of their keys, not only by their count:
hostile lines (long unique words) filled 100,000 entries with kilobytes each (a serve following
such a file grew past 700 MB and kept growing)."""

from __future__ import annotations

import csv
import random
import string
from pathlib import Path
from typing import Any

from prodshield.logs.templates import MinerConfig, TemplateMiner

LABELLED = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "labelled"


def _key_chars(key: object) -> int:
    return sum(map(len, key)) if isinstance(key, tuple) else len(str(key))


def _caches(miner: TemplateMiner) -> dict[str, dict[Any, Any]]:
    shapes = miner.shapes
    return {
        "tokens": shapes.tokens,
        "token_shapes": shapes.token_shapes,
        "lines": shapes.lines,
        "groups": shapes.groups,
        "sequences": miner._seq_cache,
    }


def test_long_unique_words_never_hold_more_than_the_character_budget() -> None:
    rng = random.Random(3)
    budget = 200_000
    miner = TemplateMiner(MinerConfig(cache_chars=budget))

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(400))

    batch = [f"user said {word()} {word()} then {word()}" for _ in range(600)]
    single = [f"note {word()} {word()}" for _ in range(300)]
    miner.learn_many(batch)  # the batch path (groups)
    for line in single:  # the line-by-line path (line shapes)
        miner.learn(line)
    held = {name: sum(map(_key_chars, cache)) for name, cache in _caches(miner).items()}
    assert all(n <= budget for n in held.values()), held
    # the budget emptied the caches the long words went to (with a count alone they held them all)
    assert held["tokens"] < 600 * 3 * 400


def test_a_small_budget_changes_no_template() -> None:
    with (LABELLED / "Kafka.csv").open(newline="") as f:
        messages = [row["Content"] for row in csv.DictReader(f)]
    found = {}
    for chars in (CHARS_DEFAULT := MinerConfig().cache_chars, 2_000):
        miner = TemplateMiner(MinerConfig(cache_chars=chars))
        entries = miner.learn_many(messages)
        final = miner.final
        found[chars] = [final(e).template for e in entries]
    assert found[CHARS_DEFAULT] == found[2_000]


def test_ever_new_free_text_of_many_lengths_stops_at_the_cluster_cap() -> None:
    """Unique text of many lengths made up to ``max_clusters_per_length`` clusters per length:
    a serve following such a log grew its miner (and the state it saves every minute) without
    end. Past ``max_clusters`` in all, newcomers join their length's least-used cluster."""
    rng = random.Random(5)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))

    miner = TemplateMiner(MinerConfig(max_clusters=60))
    for _ in range(3000):
        miner.learn(" ".join(word() for _ in range(rng.randint(4, 13))))
    assert miner.cluster_count <= 60
    assert miner.folded > 0  # counted: newcomers the cap folded in
    assert len(miner._by_tokens) <= 60
