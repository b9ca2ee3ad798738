"""The clusters of one length (a *bucket* of the template miner) and the index that says which of
them a sequence needs to be compared with.

A sequence is placed in the most similar cluster of its length, and a cluster can take it only if
the positions where they are equal, with those that may still agree through a variable or a
value it has seen (:func:`~prodshield.logs.clusters.reach`), reach the similarity floor (see
``TemplateMiner._best_of``). Comparing with every cluster made lines of words that never repeat
cost the whole bucket each (up to ``max_clusters_per_length`` clusters): about 3 ms a line, so
whoever could write to a followed log could make the service fall behind.

The index maps each position's constant token (no wildcard) to the clusters holding it there, so
counting a sequence's tokens in it gives each cluster's equal constant positions. A cluster's
*slack* bounds the rest: its tokens with a wildcard (which may equal the sequence's) plus its
reach. Only clusters whose count plus slack reach the floor are compared; those whose slack alone
does (``wide``) always are. They are compared in bucket order (the order they were made), so the
first best cluster is still the one chosen: the index never changes a result, only how many
clusters are compared.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain
from math import ceil
from operator import attrgetter

from prodshield.logs.clusters import Cluster, reach
from prodshield.logs.masking import WILDCARD

_ORDER = attrgetter("order")
COMMON = 32
"""Postings of more clusters than this may be left out of a count (see ``Bucket._hits``)."""

Posting = Cluster | list[Cluster]
"""The clusters holding one token at one position: one cluster alone (most tokens of lines that
never repeat: no list to allocate, and none for the garbage collector to walk), else a list."""


def _wild(tokens: tuple[str, ...]) -> int:
    """How many of ``tokens`` hold a wildcard."""
    return sum(WILDCARD in token for token in tokens)


class Bucket:
    """The clusters of one length, oldest first, indexed by their constant tokens."""

    __slots__ = ("_at", "_next", "_slacks", "_wide", "clusters", "floor")

    def __init__(self, length: int, threshold: float) -> None:
        self.clusters: list[Cluster] = []
        self.floor = threshold * length - 1e-9
        """Positions that must agree (as ``TemplateMiner._best_of`` counts them)."""
        self._at: list[dict[str, Posting]] = [{} for _ in range(length)]
        """Per position: constant token -> the clusters holding it there."""
        self._wide: dict[Cluster, None] = {}
        """Clusters whose slack alone reaches the floor (compared with every sequence)."""
        self._slacks: dict[int, int] = {}
        """How many of the other clusters have each slack (the largest bounds theirs)."""
        self._next = 0

    def __len__(self) -> int:
        return len(self.clusters)

    def add(self, cluster: Cluster) -> None:
        """File a new cluster (its tokens, values and variables as they are now) last."""
        cluster.order = self._next
        self._next += 1
        self.clusters.append(cluster)
        tokens = cluster.first if cluster.tokens == list(cluster.first) else tuple(cluster.tokens)
        cluster.indexed = tokens
        for at, token in zip(self._at, tokens, strict=True):
            if WILDCARD not in token:
                self._file(at, token, cluster)
        self._weigh(cluster, filed=False)

    def remove(self, cluster: Cluster) -> None:
        """Take out a cluster fused into another."""
        self.clusters.remove(cluster)
        for at, token in zip(self._at, cluster.indexed, strict=True):
            if WILDCARD not in token:
                self._drop(at, token, cluster)
        if self._wide.pop(cluster, 0) is not None:
            self._uncount(cluster.slack)

    def update(self, cluster: Cluster) -> None:
        """Re-file ``cluster`` after its tokens, variables or values changed. Needed whenever
        its slack may have grown or its tokens changed (a slack that only shrank is a bound
        still)."""
        old = cluster.indexed
        new = tuple(cluster.tokens)
        if old != new:
            for at, a, b in zip(self._at, old, new, strict=True):
                if a == b:
                    continue
                if WILDCARD not in a:
                    self._drop(at, a, cluster)
                if WILDCARD not in b:
                    self._file(at, b, cluster)
            cluster.indexed = new
        self._weigh(cluster)

    def _weigh(self, cluster: Cluster, *, filed: bool = True) -> None:
        wide = self._wide
        if filed and wide.pop(cluster, 0) is not None:
            self._uncount(cluster.slack)
        cluster.slack = slack = _wild(cluster.indexed) + reach(cluster)
        if slack >= self.floor:
            wide[cluster] = None
        else:
            self._slacks[slack] = self._slacks.get(slack, 0) + 1

    def _uncount(self, slack: int) -> None:
        left = self._slacks[slack] - 1
        if left:
            self._slacks[slack] = left
        else:
            del self._slacks[slack]

    @staticmethod
    def _file(at: dict[str, Posting], token: str, cluster: Cluster) -> None:
        found = at.get(token)
        if found is None:
            at[token] = cluster
        elif isinstance(found, list):
            found.append(cluster)
        else:
            at[token] = [found, cluster]

    @staticmethod
    def _drop(at: dict[str, Posting], token: str, cluster: Cluster) -> None:
        found = at[token]
        if found is cluster:
            del at[token]
        elif isinstance(found, list):
            found.remove(cluster)
            if len(found) == 1:
                at[token] = found[0]

    def _hits(
        self, tokens: tuple[str, ...] | list[str], most: float
    ) -> tuple[Counter[Cluster], int]:
        """Per cluster, the positions where its constant token is the one in ``tokens``, and
        by how many each count may fall short: the largest postings (a header's words, held by
        every cluster) are left out while a cluster whose slack (or the other side's, ``most``
        bounds both) is short of the floor by more than they are still has a position left
        counted, so it is still found."""
        alone: list[Cluster] = []
        lists: list[list[Cluster]] = []
        for found in map(dict.get, self._at, tokens):
            if found is not None:
                if isinstance(found, list):
                    lists.append(found)
                else:
                    alone.append(found)
        if not lists:
            return Counter(alone), 0
        skipped = 0
        room = ceil(self.floor - most) - 1  # positions that may be left out
        if room > 0:
            lists.sort(key=len, reverse=True)
            while skipped < room and skipped < len(lists) and len(lists[skipped]) > COMMON:
                skipped += 1
            lists = lists[skipped:]
        return Counter(chain(alone, chain.from_iterable(lists))), skipped

    def candidates(self, masked: tuple[str, ...]) -> list[Cluster]:
        """In bucket order, the clusters that may be at the floor of similarity with
        ``masked``: every cluster whose equal positions plus reach do (a superset)."""
        floor = self.floor
        chosen = dict.fromkeys(self._wide)
        hits, short = self._hits(masked, max(self._slacks, default=0))
        floor -= short
        for cluster, count in hits.items():
            if count + cluster.slack >= floor:
                chosen[cluster] = None
        return sorted(chosen, key=_ORDER) if len(chosen) > 1 else list(chosen)

    def near(self, cluster: Cluster, after: int) -> list[Cluster]:
        """In bucket order, the clusters filed after ``after`` (an ``order``) that may be at the
        floor with ``cluster`` either way (``TemplateMiner._absorb``: their equal positions plus
        the reach of one of them), ``cluster`` included when it is one of them."""
        floor = self.floor
        tokens = tuple(cluster.tokens)
        # positions equal where ``cluster`` has a wildcard are at most its wildcards
        own = _wild(tokens) + reach(cluster)
        if own >= floor:
            found = [c for c in self.clusters if c.order > after]
        else:
            chosen = dict.fromkeys(c for c in self._wide if c.order > after)
            hits, short = self._hits(tokens, max(own, max(self._slacks, default=0)))
            floor -= short
            for other, count in hits.items():
                if other.order > after and count + max(own, other.slack) >= floor:
                    chosen[other] = None
            found = sorted(chosen, key=_ORDER)
        return found
