"""Placing a line compares it only with the clusters of its length that may take it (the bucket
index of :mod:`prodshield.logs.buckets`): lines of words that never repeat compared each with every
cluster of their length (up to 2,000), about 3 ms a line, so a `serve` following such a file fell
behind. The index must never change a template: the same lines give the same templates and ids as
comparing with every cluster."""

from __future__ import annotations

import csv
import json
import random
import string
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from prodshield.logs import buckets, templates
from prodshield.logs.buckets import Bucket
from prodshield.logs.clusters import Cluster, reach, variant_of
from prodshield.logs.masking import WILDCARD
from prodshield.logs.templates import MinerConfig, TemplateMiner

LABELLED = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "labelled"


def _unique_lines(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 10)))

    return [" ".join(word() for _ in range(rng.randint(10, 13))) for _ in range(count)]


def _mixed_lines(seed: int = 9, header: bool = True) -> list[str]:
    """Labelled lines of real software, unique free text and lines that merge, enumerate and
    fuse (shared heads, numbers, a few values per position), interleaved."""
    rng = random.Random(seed)
    lines: list[str] = []
    for path in sorted(LABELLED.glob("*.csv"))[:3]:
        with path.open(newline="", encoding="utf-8") as fh:
            lines.extend(row["Content"] for row in csv.DictReader(fh))
    vocabulary = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota"]
    heads = ["conn from", "retry of", "failed to open", "user session"]
    # one header and few words, on lines of 30: hundreds of clusters share each position's
    # word (postings larger than ``COMMON``), and lines join clusters through them alone
    for _ in range(500 if header else 0):
        lines.append("svc INFO: " + " ".join(rng.choice(vocabulary[:6]) for _ in range(28)))
    for i in range(3000):
        kind = i % 3
        if kind == 0:
            lines.append(" ".join(rng.choice(vocabulary) for _ in range(rng.randint(4, 9))))
        elif kind == 1:
            lines.append(
                f"{rng.choice(heads)} {rng.choice(vocabulary)} port {rng.randint(1, 99999)} "
                + " ".join(rng.choice(vocabulary[:4]) for _ in range(rng.randint(1, 3)))
            )
        else:
            lines.extend(_unique_lines(1, seed=i))
    rng.shuffle(lines)
    return lines


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the token comparisons the miner makes between a sequence and clusters."""
    count = [0]

    def counting(a: str, b: str) -> bool:
        count[0] += 1
        return a == b

    monkeypatch.setattr(templates, "eq", counting)
    yield count


def test_unique_lines_are_compared_with_few_clusters(compared: list[int]) -> None:
    miner = TemplateMiner()
    lines = _unique_lines(2000)
    for line in lines:
        miner.learn(line)
    assert miner.cluster_count == len(lines)  # every line its own template
    # comparing with every cluster of its length (4 lengths): ~250 clusters of 11 tokens a line
    assert compared[0] <= 13 * len(lines), compared[0] / len(lines)
    compared[0] = 0
    for line in _unique_lines(200, seed=6):
        miner.learn(line)
    assert compared[0] <= 13 * 200, "the cost grows with the clusters already made"


def test_lines_after_one_header_are_not_walked_as_variants(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lines of free text after the same two words (``myapp INFO:``) are filed together for
    variants of another length; each new one was walked against up to 64 of each of 8 lengths
    (~330 walks a line). Only an older cluster holding nearly all its words can be a variant."""
    walks = [0]

    def counting(a: Sequence[str], b: Sequence[str]) -> bool:
        walks[0] += 1
        return variant_of(a, b)

    monkeypatch.setattr(templates, "variant_of", counting)
    miner = TemplateMiner()
    miner.learn("myapp INFO: sent 0 bytes to the peer")
    lines = [f"myapp INFO: {line[: 20 + i % 60]}" for i, line in enumerate(_unique_lines(1500))]
    for line in lines:
        miner.learn(line)
    assert miner.cluster_count > 1000
    assert walks[0] <= len(lines) // 10, walks[0] / len(lines)
    # the filter leaves a true variant to the walk: ``0 bytes sent`` / ``1190 bytes (1.16 KB)``
    walks[0] = 0
    joined = miner.add("myapp INFO: sent 1190 bytes (1.16 KB) to the peer")
    assert walks[0] >= 1
    assert joined.template_id == miner.add("myapp INFO: sent 7 bytes to the peer").template_id


def test_a_header_every_cluster_holds_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index counts, per cluster, the positions where a line's words are its words; the
    two words of a header every line starts with (``myapp INFO:``) would count every cluster of
    the length for every line. They are left out while no cluster could need them."""
    counted = [0]

    def counting(items: Iterable[Cluster] = ()) -> Counter[Cluster]:
        items = list(items)
        counted[0] += len(items)
        return Counter(items)

    monkeypatch.setattr(buckets, "Counter", counting)
    miner = TemplateMiner()
    lines = [f"myapp INFO: {line}" for line in _unique_lines(1500)]
    for line in lines:
        miner.learn(line)
    assert miner.cluster_count == len(lines)
    # both header words counted: ~2 x 190 clusters a line on average
    assert counted[0] <= 5 * len(lines), counted[0] / len(lines)


def test_lines_of_one_template_are_still_compared(compared: list[int]) -> None:
    """The counter above is not blind: lines that join a cluster are compared with it."""
    miner = TemplateMiner()
    for i in range(50):
        miner.learn(f"connection from host{i % 7}x closed after {i} requests by peer")
    assert miner.cluster_count == 1
    assert compared[0] > 0


def _invariants(miner: TemplateMiner) -> None:
    """Each bucket files each of its clusters under exactly its constant tokens, with a slack
    at least its true one, and the wide ones apart."""
    for length, bucket in miner._by_length.items():
        filed: dict[tuple[int, str], list[Cluster]] = {}
        for pos, at in enumerate(bucket._at):
            for token, found in at.items():
                if isinstance(found, list):
                    assert len(found) > 1, "a list of one cluster left in the index"
                    filed[(pos, token)] = found
                else:
                    filed[(pos, token)] = [found]
        expected: dict[tuple[int, str], list[Cluster]] = {}
        for cluster in bucket.clusters:
            assert cluster.merged_into is None
            assert len(cluster.tokens) == length
            assert cluster.indexed == tuple(cluster.tokens)
            for pos, token in enumerate(cluster.tokens):
                if WILDCARD not in token:
                    expected.setdefault((pos, token), []).append(cluster)
            slack = sum(WILDCARD in t for t in cluster.tokens) + reach(cluster)
            assert cluster.slack >= slack
            assert (cluster in bucket._wide) == (cluster.slack >= bucket.floor)
        assert {k: {id(c) for c in v} for k, v in filed.items()} == {
            k: {id(c) for c in v} for k, v in expected.items()
        }
        slacks: dict[int, int] = {}
        for cluster in bucket.clusters:
            if cluster not in bucket._wide:
                slacks[cluster.slack] = slacks.get(cluster.slack, 0) + 1
        assert bucket._slacks == slacks
        orders = [c.order for c in bucket.clusters]
        assert orders == sorted(set(orders))


def _outputs(miner: TemplateMiner, lines: list[str]) -> list[tuple[str, str]]:
    entries = [miner.learn(line)[0] for line in lines]
    return [(miner.final(e).template_id, e.template) for e in entries]


@pytest.mark.parametrize(
    ("config", "header"),
    [(MinerConfig(), True), (MinerConfig(max_clusters_per_length=15), False)],
)
def test_the_index_gives_the_templates_of_comparing_every_cluster(
    config: MinerConfig, header: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _mixed_lines(header=header)
    miner = TemplateMiner(config)
    indexed = _outputs(miner, lines)
    _invariants(miner)
    state = json.loads(json.dumps(miner.state()))
    resumed = TemplateMiner.from_state(state, config)
    _invariants(resumed)
    again = _outputs(resumed, lines[::5])
    _invariants(resumed)

    # the reference: every cluster of the length is compared, in bucket order
    monkeypatch.setattr(Bucket, "candidates", lambda self, masked: list(self.clusters))
    monkeypatch.setattr(
        Bucket,
        "near",
        lambda self, cluster, after: [c for c in self.clusters if c.order > after],
    )
    reference = TemplateMiner(config)
    assert _outputs(reference, lines) == indexed
    assert [(t.id, t.template, t.count) for t in reference.templates()] == [
        (t.id, t.template, t.count) for t in miner.templates()
    ]
    assert _outputs(TemplateMiner.from_state(state, config), lines[::5]) == again
