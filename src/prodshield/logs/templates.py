"""Streaming online template mining: the miner and its public types.

One pass, memory bounded by the number of templates: each message is split on whitespace, the
variable pieces of its tokens are masked (:mod:`prodshield.logs.masking`), and the masked token
sequence either hits the exact-sequence cache or is compared with the clusters of the same length
(Drain's idea: a cluster is a token sequence where positions that differed became wildcards).

A position that became a wildcard by merging keeps the set of values seen there, up to
``enum_max`` of them. While it has that few values it is treated as an *enumeration* and each value
stays in the template (``Transitioned from NEW to INITED`` and ``... from INITED to SETUP`` are two
templates, as in the labelled data); past ``enum_max`` the position is a variable for good and its
values are forgotten. When a sequence is compared with a cluster, a value one of its enumerations
has already seen agrees like a constant. The template text is the line's own text with each
variable replaced by one ``<*>`` (adjacent wildcards without a separator merge); nothing is moved.
Units of measure are never enumeration values (``KB``/``MB`` change with the magnitude), and a
message of a few tokens joins only clusters with its first word (Drain's prefix tree).

A new cluster that is an older cluster of another length with a variable written in more or fewer
tokens (``0 bytes sent`` / ``1190 bytes (1.16 KB) sent``, see :func:`variant_of`) is a *variant*:
it keeps its own text, and its lines are given the older cluster's id. Clusters that differ in one
place holding a value written in words (``failed: Broken pipe`` / ``failed: No such file or
directory``, see :func:`slot_of`) are counted like an enumeration: past ``enum_max`` values between
them, the younger ones join the oldest (:meth:`TemplateMiner._join_slots`). A cluster made before
another could take it (a new name and a new error text on one line) is fused with it once that
other one has made the position a variable or seen the value (:meth:`TemplateMiner._absorb`).

Template ids name a cluster for its whole life. A cluster's id is given when it is created (a
hash of its first template, salted on a collision) and kept however its template generalises; an
enumeration's other values get ids derived from the cluster's id and the values where they differ
from the first template, so each stays the same while the enumeration lives and folds into the
surviving template's id when the position becomes a variable (:meth:`TemplateMiner.current_id`).
The state, ids included, round-trips through :meth:`TemplateMiner.state` (saved in the store by
:mod:`prodshield.logs.state`), so ids are the same across runs that share a store.

The miner is split by concept: :mod:`prodshield.logs.clusters` (what a cluster holds, ids, how
sequences compare), :mod:`prodshield.logs.shapes` (the masking caches, by line shape),
:mod:`prodshield.logs.batch` (batches grouped in polars) and :mod:`prodshield.logs.params`
(pulling a template's parameters out of a line). This module is the public face: the rest of the
code imports :class:`TemplateMiner`, :class:`MinerConfig`, :class:`Template` and
:class:`TemplateMatch` from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter, eq, itemgetter, or_, truth
from typing import Any

from prodshield.logs import batch
from prodshield.logs.buckets import Bucket
from prodshield.logs.clusters import (
    BOUNDED_SPAN,
    BRACKET_SPAN,
    LEAD_PEERS,
    SLOT_SPAN,
    VARIANT_SPAN,
    Cluster,
    Entry,
    Rendering,
    Stat,
    bracket_list,
    common_shape,
    enum_similarity,
    fits,
    id_for,
    lead_of,
    reach,
    record_field,
    render,
    root_of,
    similarity_of,
    slot_of,
    state_clash,
    state_names,
    sub_id,
    template_id,
    units_only,
    variant_needs,
    variant_of,
)
from prodshield.logs.endpoints import FOLDED, EndpointMasker, is_endpoint, request_tokens
from prodshield.logs.masking import WILDCARD
from prodshield.logs.params import Extractors, Plan, params
from prodshield.logs.shapes import CACHE_CHARS, ShapeCaches, line_shape, make_room
from prodshield.logs.shown import learnable, learnable_many
from prodshield.secrets.redaction import redact_text
from prodshield.text import clip

__all__ = ["MinerConfig", "Template", "TemplateMatch", "TemplateMiner", "template_id"]

_COUNT = attrgetter("count")
_GEN = attrgetter("gen")
_TOKENS = attrgetter("tokens")
_LAST = itemgetter(-1)


@dataclass(frozen=True, slots=True)
class MinerConfig:
    """The one general configuration; the defaults are used for every source."""

    similarity: float = 0.6
    """Share of positions that must agree for a message to join a cluster."""
    enum_max: int = 4
    """A merged position with at most this many distinct values keeps them as constants."""
    short: int = 5
    """A message of at most this many tokens joins only a cluster with the same first word
    (Drain's prefix tree: in a short message one word is too large a share to be a value)."""
    max_clusters_per_length: int = 2000
    max_clusters: int = 20_000
    """Clusters kept in all (endpoints' included): past it a new sequence joins the least-used
    cluster of its length, as past ``max_clusters_per_length`` (only a length with no cluster yet
    still makes one). The per-length cap alone let ever-new free text of many lengths grow the
    miner, and the state ``serve`` saves every minute, without end."""
    max_endpoints: int = 2000
    """Request lines' endpoints kept as templates (see :mod:`prodshield.logs.endpoints`)."""
    cache_size: int = 100_000
    """Entries each masking cache holds (:mod:`prodshield.logs.shapes`)."""
    cache_chars: int = CACHE_CHARS
    """Characters of keys each masking cache holds: hostile lines cannot grow one past it."""


@dataclass(slots=True)
class TemplateMatch:
    """Where one message landed."""

    template_id: str
    template: str
    params: list[str]
    cluster: int


@dataclass(slots=True)
class Template:
    """One template with its statistics, as reported by :meth:`TemplateMiner.templates`."""

    id: str
    template: str
    count: int
    example: str = ""
    first_seen: float | None = None
    last_seen: float | None = None
    variants: list[str] = field(default_factory=list)
    """The texts of the same template where a variable takes a different number of tokens
    (``0 bytes sent`` and ``1190 bytes (1.16 KB) sent``): their lines are given this id."""


def _enumerated(cluster: Cluster) -> set[int]:
    """The positions where ``cluster`` holds an enumeration."""
    return (
        {pos for pos, seen in cluster.values.items() if seen is not None}
        if cluster.live_enums
        else set()
    )


def _may_pair(peers: Sequence[Cluster], near: bool, last: str | None) -> list[Cluster]:
    """For a cluster that has not varied (or a length past ``SLOT_SPAN``), the ``peers`` that
    :meth:`TemplateMiner._slot_group` does not pass over: those that have varied (at a near
    length) or end with ``last``; picked in C, in their order."""
    if last is None:
        return list(filter(_GEN, peers)) if near else []
    ends = map(last.__eq__, map(_LAST, map(_TOKENS, peers)))
    return list(compress(peers, map(or_, map(truth, map(_GEN, peers)), ends) if near else ends))


def _spread_values(source: Cluster, target: Cluster) -> None:
    """Before ``source`` and ``target`` are fused: where ``source`` holds an enumeration and
    ``target`` a constant, that constant becomes one of the values (with ``target``'s lines)."""
    for pos, seen in source.values.items():
        if seen is not None and pos not in target.values:
            token = target.tokens[pos]
            target.values[pos] = None if WILDCARD in token else {token: target.count}


class TemplateMiner:
    """The streaming miner. ``add`` learns from a message; ``match`` only looks it up."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self.shapes = ShapeCaches(self.config.cache_size, self.config.cache_chars)
        """What masking makes of tokens and line shapes (:mod:`prodshield.logs.shapes`)."""
        self._clusters: list[Cluster] = []
        self._made = 0
        """Clusters made so far: the next one's ``index``. Not ``len(self._clusters)``, which a
        fusion shrinks: two live clusters then shared an index, a fusion could keep the younger,
        and a join and a fusion could point two clusters at each other (``root_of`` looped)."""
        self._by_id: dict[str, Cluster] = {}
        self._sub_owner: dict[str, Cluster] = {}  # every template id given -> its cluster
        self._by_length: dict[int, Bucket] = {}
        """The clusters of each length, indexed (:mod:`prodshield.logs.buckets`)."""
        self._by_tokens: dict[tuple[str, ...], Cluster] = {}
        self._seq_cache: dict[tuple[str, ...], Entry] = {}
        # (length, first two constant tokens) of a cluster's first template -> those clusters,
        # oldest first (where :meth:`_variant_cluster` looks)
        self._by_lead: dict[tuple[int, str, str], list[Cluster]] = {}
        self._lead_lengths: dict[tuple[str, str], set[int]] = {}
        """The lengths ``_by_lead`` files clusters under, per first two constant tokens."""
        self._extract = Extractors()
        self.endpoints = EndpointMasker(self.shapes.mask_one, self.config.cache_size)
        """Masks request lines (:mod:`prodshield.logs.endpoints`)."""
        self._endpoints: dict[tuple[str, ...], Cluster] = {}
        self._grown: list[Cluster] = []
        """Clusters whose enumerations took a new value since the last new sequence."""
        self.lines = 0
        self.folded = 0
        """New sequences a full miner (a cap reached) folded into an existing cluster."""

    # --- learning ----------------------------------------------------------------------------

    def add(self, message: str, *, timestamp: float | None = None) -> TemplateMatch:
        """Learn from ``message`` and return its template as of now."""
        entry, params = self.learn(message, timestamp)
        return TemplateMatch(entry.template_id, entry.template, params, entry.cluster.index)

    def learn(
        self,
        message: str,
        timestamp: float | None = None,
        *,
        want_params: bool = True,
        redacted: bool = False,
        example: str | None = None,
    ) -> tuple[Entry, list[str]]:
        """:meth:`add` without the result object: the sequence's entry and the parameters.

        Callers read ``entry.template`` and ``entry.template_id`` right away (the template text
        changes as the miner learns, the id stays), or keep the entry and ask :meth:`final` for
        its template once every line is learnt. The miner learns what
        :func:`~prodshield.logs.shown.learnable` makes of ``message`` (its secrets as ``<*>``);
        ``redacted``: ``message`` is that already, and ``example`` (else ``message``) the line
        as printed, kept as its template's example.
        """
        if not redacted:
            example = redact_text(message)
            message = learnable(message, example)
        elif example is None:
            example = message
        request = request_tokens(message)
        if request is not None:
            return self._learn_request(request, example, timestamp, want_params)
        # Lines with the same "shape" mask the same way (see :func:`line_shape`), except the
        # tokens remembered in ``keep`` (whose rules count characters the shape hides, as in MAC
        # addresses), which are re-masked from the line itself.
        shape = line_shape(message)
        shapes = self.shapes
        known = shapes.lines.get(shape)
        raw: list[str] | None = None
        if known is None:
            raw = message.split()
            known = shapes.learn_shape(shape, raw)
        keep = known.keep
        if keep:
            if raw is None:
                raw = message.split()
            rebuilt = list(known.masked)
            for i in keep:
                rebuilt[i] = shapes.mask_one(raw[i])
            masked = tuple(rebuilt)
            entry = self.entry_for(masked)
        else:
            masked = known.masked
            cached = known.entry
            if cached is None:
                cached = known.entry = self.entry_for(masked)
            entry = cached
        self.count_lines(entry, masked, 1, example, timestamp, timestamp)
        plan = entry.plan
        if not plan or not want_params:
            return entry, []
        return entry, params(plan, raw if raw is not None else message.split())

    def _learn_request(
        self, raw: list[str], message: str, timestamp: float | None, want_params: bool
    ) -> tuple[Entry, list[str]]:
        masked = self.endpoints.masked(raw)
        entry = self.entry_for(masked)
        self.count_lines(entry, masked, 1, message, timestamp, timestamp)
        plan = entry.plan
        return entry, (params(plan, raw) if plan and want_params else [])

    def count_lines(
        self,
        entry: Entry,
        masked: tuple[str, ...],
        n: int,
        message: str,
        first: float | None,
        last: float | None,
    ) -> None:
        """Count ``n`` lines of one masked sequence (``entry``: its :meth:`entry_for`), one of
        them ``message``, seen from ``first`` to ``last``."""
        self.lines += n
        cluster = entry.cluster
        if cluster.merged_into is not None:
            while cluster.merged_into is not None:
                cluster = cluster.merged_into
            entry.cluster = cluster
            entry.version = -1
        cluster.count += n
        if cluster.live_enums:
            self._count_enums(cluster, masked, n)
        if entry.version != cluster.version:
            self._refresh(entry, cluster, masked)
        stat = entry.stat
        if stat is None:
            stat = cluster.stats.get(entry.template_id)
            if stat is None:
                stat = cluster.stats[entry.template_id] = Stat(0, clip(message, 500), first, last)
                cluster.subs[entry.template_id] = entry.diffs
                self._sub_owner.setdefault(entry.template_id, cluster)
            entry.stat = stat
        stat.count += n
        if first is not None and (stat.first is None or first < stat.first):
            stat.first = first
        if last is not None and (stat.last is None or last > stat.last):
            stat.last = last

    def add_batch(
        self, messages: Sequence[str], timestamps: Sequence[float | None] | None = None
    ) -> None:
        """Learn from many messages at once, without per-message results (``logs templates``)."""
        self.learn_many(messages, timestamps, entries=False)

    def learn_many(
        self,
        messages: Sequence[str],
        timestamps: Sequence[float | None] | None = None,
        *,
        entries: bool = True,
        redacted: bool = False,
        examples: Sequence[str] | None = None,
    ) -> list[Entry]:
        """Learn from many messages at once; with ``entries`` the entry of each (see :meth:`final`
        for its template once everything is learnt), else an empty list.

        Below :data:`~prodshield.logs.batch.BATCH_MIN` messages they are learnt line by line,
        else grouped by shape (:mod:`prodshield.logs.batch`). As :meth:`learn`, what is learnt is
        each message's :func:`~prodshield.logs.shown.learnable` (one redaction pass over the
        block); ``redacted``: the messages are that already, and ``examples`` (else the
        messages) the lines as printed, kept as their templates' examples.
        """
        if not redacted:
            examples, messages = learnable_many(messages)
        return batch.learn_many(self, messages, timestamps, entries, examples)

    def entry_for(self, masked: tuple[str, ...]) -> Entry:
        """The entry of a masked token sequence (placed in a cluster the first time)."""
        entry = self._seq_cache.get(masked)
        if entry is None:
            entry = Entry(self._place(masked), masked)
            shapes = self.shapes
            make_room(
                self._seq_cache,
                shapes.held,
                self.config.cache_size,
                shapes.cache_chars,
                sum(map(len, masked)),
            )
            self._seq_cache[masked] = entry
        return entry

    def _refresh(self, entry: Entry, cluster: Cluster, masked: tuple[str, ...]) -> None:
        text, plan, diffs, sid = self._rendering(cluster, masked)
        entry.version = cluster.version
        entry.template = text
        # :func:`id_for`, with the hash of the enumeration values made once per rendering
        entry.template_id = sid if diffs or cluster.joined is None else root_of(cluster).id
        entry.plan = plan
        entry.diffs = diffs
        entry.stat = None

    def _count_enums(self, cluster: Cluster, masked: tuple[str, ...], n: int = 1) -> None:
        values = cluster.values
        limit = self.config.enum_max
        live = 0
        grown = False
        for pos, seen in values.items():
            if seen is None:
                continue
            value = masked[pos]
            count = seen.get(value)
            if count is None and (
                (len(seen) >= limit and not state_names([*seen, value]))
                or WILDCARD in value
                or units_only(value, seen)
            ):
                values[pos] = None
                cluster.version += 1
                grown = True
                continue
            seen[value] = (count or 0) + n
            live += 1
            if count is None:
                grown = True
        cluster.live_enums = live
        if grown:
            self._join_slots(cluster)
            if not self._grown or self._grown[-1] is not cluster:
                self._grown.append(cluster)

    def _place(self, masked: tuple[str, ...]) -> Cluster:
        if is_endpoint(masked):
            return self._endpoint(masked)
        if self._grown:
            # clusters whose enumerations took new values may now take (or be taken by) others
            grown, self._grown = self._grown, []
            for cluster in grown:
                if cluster.merged_into is None:
                    self._absorb(cluster)
        bucket = self._bucket(len(masked))
        best = self._best_of(bucket, masked)
        if best is None:
            if len(bucket) >= self.config.max_clusters_per_length or (
                len(bucket) and len(self._clusters) >= self.config.max_clusters
            ):
                # bounded memory: the least-used cluster of this length absorbs the newcomer
                best = min(bucket.clusters, key=_COUNT)
                self.folded += 1
            else:
                joined = self._variant_cluster(masked)
                best = self._new_cluster(masked)
                best.joined = joined
                self._file_lead(best)
                bucket.add(best)
                if joined is None:
                    self._join_slots(best)
                return best
        variables = len(best.gen)
        holder = self._merge(best, masked)
        if len(holder.gen) > variables:
            holder = self._absorb(holder)
        return holder

    def _endpoint(self, masked: tuple[str, ...]) -> Cluster:
        """A request line's cluster: its endpoint's own, never merged (past ``max_endpoints``
        endpoints, the method's ``/<*>``)."""
        cluster = self._endpoints.get(masked)
        if cluster is None:
            if len(self._endpoints) >= self.config.max_endpoints:
                masked = (masked[0], FOLDED, *masked[2:])
                cluster = self._endpoints.get(masked)
            if cluster is None:
                cluster = self._endpoints[masked] = self._new_cluster(masked)
        return cluster

    def _bucket(self, length: int) -> Bucket:
        bucket = self._by_length.get(length)
        if bucket is None:
            bucket = self._by_length[length] = Bucket(length, self.config.similarity)
        return bucket

    def _best_of(self, bucket: Bucket, masked: tuple[str, ...]) -> Cluster | None:
        """The most similar cluster of ``bucket`` (``masked``'s length) at or above the
        similarity threshold, or None: the first of the most similar, in bucket order, among
        the clusters the bucket's index says may reach the threshold (the others cannot)."""
        n = len(masked)
        best: Cluster | None = None
        best_score = -1.0
        threshold = self.config.similarity
        # a short message joins only clusters with its first word (when both have one)
        head = masked[0] if 0 < n <= self.config.short and WILDCARD not in masked[0] else None
        # positions that agree, as a share of all: an upper bound of the similarity (positions
        # where both are wildcards count on both sides of it), so below the threshold a cluster
        # without enumerations is out without the full count
        floor = threshold * n - 1e-9
        # clusters a token may agree with by fitting a variable position, tried when no other does
        shaped: list[Cluster] = []
        for cluster in bucket.candidates(masked):
            tokens = cluster.tokens
            if head is not None and tokens[0] != head and WILDCARD not in tokens[0]:
                continue
            same = sum(map(eq, tokens, masked))
            if not cluster.live_enums:
                if same < floor:
                    if cluster.gen and same + len(cluster.gen) >= floor:
                        shaped.append(cluster)
                    continue
                score = similarity_of(tokens, masked, same)
                if score < threshold and cluster.gen:
                    shaped.append(cluster)
            else:
                if same + reach(cluster) < floor:
                    continue  # below the threshold even with every value it has seen
                score = similarity_of(tokens, masked, same)
                if score < threshold:
                    score = enum_similarity(cluster, masked, threshold)
            if score >= threshold and score > best_score and not state_clash(tokens, masked):
                best, best_score = cluster, score
        if best is None:
            for cluster in shaped:
                score = enum_similarity(cluster, masked, threshold)
                if (
                    score >= threshold
                    and score > best_score
                    and not state_clash(cluster.tokens, masked)
                ):
                    best, best_score = cluster, score
        return best

    def _absorb(self, cluster: Cluster) -> Cluster:
        """Clusters of ``cluster``'s length that it would take now that it has a new variable, or
        that would take it, are fused with it: their lines came before it could take them (``backend stock-<*>:
        Broken pipe.`` made its own cluster while ``backend billing-<*>: <*> <*>`` still had a
        constant name). Returns the cluster that holds them (the oldest)."""
        n = len(cluster.tokens)
        threshold = self.config.similarity
        floor = threshold * n - 1e-9
        short = n <= self.config.short
        reach_of = reach(cluster)
        bucket = self._by_length[n]
        # in bucket order, the clusters that may be at the threshold either way (found again
        # after ``cluster`` changes, from where the walk is)
        others = bucket.near(cluster, -1)
        at = 0
        while at < len(others):
            other = others[at]
            at += 1
            if other is cluster or other.merged_into is not None:
                continue
            mine = cluster.tokens
            if short and other.tokens[0] != mine[0] and WILDCARD not in mine[0]:
                continue
            same = sum(map(eq, mine, other.tokens))
            if same + reach_of < floor and same + reach(other) < floor:
                continue  # neither similarity can reach the threshold
            tokens = tuple(other.tokens)
            if (
                enum_similarity(cluster, tokens, threshold) < threshold
                and enum_similarity(other, tuple(mine), threshold) < threshold
            ) or state_clash(mine, tokens):
                continue
            cluster = self._merge(cluster, tokens)
            if other.merged_into is None and other is not cluster:  # else the merge fused them
                merged = list(cluster.tokens)
                keep, gone = (other, cluster) if other.index < cluster.index else (cluster, other)
                _spread_values(keep, gone)
                _spread_values(gone, keep)
                by_tokens = self._by_tokens
                for c in (keep, gone):
                    if by_tokens.get(tuple(c.tokens)) is c:
                        del by_tokens[tuple(c.tokens)]
                self._fuse(keep, gone)
                keep.tokens = merged
                bucket.update(keep)
                by_tokens.setdefault(tuple(merged), keep)
                cluster = keep
            reach_of = reach(cluster)
            others = bucket.near(cluster, other.order)
            at = 0
        return cluster

    def _variant_cluster(self, masked: tuple[str, ...]) -> Cluster | None:
        """The oldest cluster of another length ``masked`` is a variant of (:func:`variant_of`),
        among those whose first template starts with the same two constant tokens (see
        :meth:`_file_lead`)."""
        lead = lead_of(masked)
        if lead is None:
            return None
        n = len(masked)
        found: Cluster | None = None
        by_lead = self._by_lead
        span = BRACKET_SPAN if bracket_list(masked) is not None else 2 * VARIANT_SPAN
        words, needed = variant_needs(masked)
        has = words.__contains__
        # two sequences of different lengths without a variable are never variants (no place
        # may be skipped); a cluster's slack counts its tokens with a variable
        plain = not any(WILDCARD in token for token in masked)
        for length in range(max(1, n - span), n + span + 1):
            peers = by_lead.get((length, *lead)) if length != n else None
            if not peers:
                continue
            for cluster in peers:  # oldest first
                if found is not None and cluster.index > found.index:
                    break
                if (
                    cluster.merged_into is None
                    and not (plain and cluster.slack == 0)
                    and (needed <= 0 or sum(map(has, cluster.tokens)) >= needed)
                    and variant_of(cluster.tokens, masked)
                ):
                    found = cluster
                    break
        return None if found is None else root_of(found)

    def _join_slots(self, cluster: Cluster) -> None:
        """Clusters of other lengths that differ from ``cluster`` only where a value is written
        in words (:func:`slot_of`) are one template once that place has had more than
        ``enum_max`` values between them (until then, like a one-token enumeration, each value
        is a template): the younger clusters join the oldest one."""
        group = self._slot_group(cluster)
        for peer, span in group[1:]:
            if all(pos in peer.gen for pos in span):
                # the place is known to vary in ``peer``: its group holds the values of every length
                around_peer = self._slot_group(peer)
                if len(around_peer) > len(group):
                    group = around_peer
                break
        if sum(self._span_values(member, span) for member, span in group) <= self.config.enum_max:
            return
        root = root_of(min((member for member, _ in group), key=lambda c: root_of(c).index))
        for member, span in group:
            self._unenumerate(member, span)
            if member is not root and member.joined is None and root_of(member) is member:
                member.joined = root
                member.version += 1

    def _slot_group(self, cluster: Cluster) -> list[tuple[Cluster, range]]:
        """``cluster`` and the clusters :func:`slot_of` pairs it with, each with its place."""
        if cluster.merged_into is not None:
            return []
        leads = [lead_of(cluster.first)]
        if leads[0] != (now := lead_of(cluster.tokens)):
            leads.append(now)
        n = len(cluster.tokens)
        gen = cluster.gen
        enums = _enumerated(cluster)
        group: list[tuple[Cluster, range]] = []
        lengths: set[int] = set()
        for lead in leads:
            if lead is not None:
                lengths.update(self._lead_lengths.get(lead, ()))
        # past SLOT_SPAN, or where neither cluster has varied yet, only a place between constant
        # text on both sides (:func:`bounded_slot`): the last token, a constant, is the same
        last = cluster.tokens[-1] if n and WILDCARD not in cluster.tokens[-1] else None
        by_lead = self._by_lead
        for length in sorted(lengths):
            near = n - SLOT_SPAN < length < n + SLOT_SPAN
            if length == n or not (near or (last and abs(length - n) < BOUNDED_SPAN)):
                continue
            if len(leads) == 1:
                peers = by_lead.get((length, *leads[0]), ()) if leads[0] else ()
            else:
                peers = [p for lead in leads if lead for p in by_lead.get((length, *lead), ())]
            if not (near and gen):
                peers = _may_pair(peers, near, last)
                if not peers:
                    continue
            for peer in dict.fromkeys(peers) if len(leads) > 1 else peers:
                if peer.merged_into is not None:
                    continue
                if not (near and (gen or peer.gen)) and (last is None or peer.tokens[-1] != last):
                    continue  # only a bounded place is possible, and it is not one
                spans = slot_of(
                    cluster.tokens, gen, peer.tokens, peer.gen, (enums, _enumerated(peer))
                )
                if spans is None:
                    continue
                if not group:
                    group.append((cluster, spans[0]))
                group.append((peer, spans[1]))
        return group

    def _span_values(self, cluster: Cluster, span: range) -> int:
        """How many values ``cluster`` has seen at ``span`` (past ``enum_max``: one more). A
        variable inside a text that is otherwise constant (``Not authorized to access group:
        <*>.``) is a value within one text: it does not count as many texts."""
        most = 1
        gen = cluster.gen
        whole = all(pos in gen for pos in span)
        for pos in span:
            if pos in gen:
                seen = cluster.values.get(pos)
                if seen is not None:
                    most = max(most, len(seen))
                elif whole:
                    most = max(most, self.config.enum_max + 1)
        return most

    @staticmethod
    def _unenumerate(cluster: Cluster, positions: range) -> None:
        """Enumerations at ``positions`` become variables (they hold a value in words)."""
        values = cluster.values
        changed = False
        for pos in positions:
            if values.get(pos) is not None:
                values[pos] = None
                changed = True
        if changed:
            cluster.version += 1
            cluster.live_enums = sum(1 for v in values.values() if v is not None)

    def _file_lead(self, cluster: Cluster) -> None:
        """File ``cluster`` under the first two constant tokens of its first template and, once
        a variable has taken one of them (a name the masking kept, ``search6.svc could not be
        resolved``), of its template now, oldest first."""
        for tokens in (cluster.first, cluster.tokens):
            lead = lead_of(tokens)
            if lead is None:
                continue
            peers = self._by_lead.setdefault((len(tokens), *lead), [])
            self._lead_lengths.setdefault(lead, set()).add(len(tokens))
            if len(peers) >= LEAD_PEERS or any(peer is cluster for peer in peers):
                continue
            at = len(peers)
            while at and peers[at - 1].index > cluster.index:
                at -= 1
            peers.insert(at, cluster)

    def _new_cluster(self, masked: tuple[str, ...], cid: str | None = None) -> Cluster:
        if cid is None:
            base = template_id(render(list(masked)))
            cid, salt = base, 0
            # the same first template made twice (rare): salt it
            while cid in self._by_id or cid in self._sub_owner:
                salt += 1
                cid = template_id(f"{base}#{salt}")
        cluster = Cluster(self._made, cid, masked, list(masked))
        self._made += 1
        self._clusters.append(cluster)
        self._by_id[cid] = cluster
        self._by_tokens.setdefault(masked, cluster)
        return cluster

    def _merge(self, cluster: Cluster, masked: tuple[str, ...]) -> Cluster:
        """Generalise ``cluster`` to take ``masked``; returns the cluster that holds it (another
        one when the generalised tokens are those of an older cluster: they are fused)."""
        tokens = cluster.tokens
        before = tuple(tokens)
        gen = cluster.gen
        fresh = False
        for pos, (a, b) in enumerate(zip(tokens, masked, strict=True)):
            if a == b:
                continue
            shape = gen.get(pos)
            if shape is None:
                # first disagreement here: every earlier member had ``a``
                fresh = True
                cluster.values[pos] = (
                    None
                    if WILDCARD in a or units_only(b, (a,)) or record_field(tokens, a, b)
                    else {a: cluster.count}
                )
                shape = common_shape(a, b)
            elif not fits(shape, b):
                shape = ("", "")
            else:
                continue
            gen[pos] = shape
            tokens[pos] = shape[0] + WILDCARD + shape[1]
        cluster.version += 1
        cluster.live_enums = sum(1 for v in cluster.values.values() if v is not None)
        if cluster.order >= 0:  # a cluster of a bucket (request lines' are not)
            self._by_length[len(tokens)].update(cluster)
        if fresh:
            self._file_lead(cluster)
            self._join_slots(cluster)
        after = tuple(tokens)
        if after == before:
            return cluster
        by_tokens = self._by_tokens
        if by_tokens.get(before) is cluster:
            del by_tokens[before]
        other = by_tokens.get(after)
        if other is None or other is cluster:
            by_tokens[after] = cluster
            return cluster
        keep, gone = (other, cluster) if other.index < cluster.index else (cluster, other)
        self._fuse(keep, gone)
        by_tokens[after] = keep
        return keep

    def _fuse(self, keep: Cluster, gone: Cluster) -> None:
        """Two clusters that generalised to the same tokens are one template: ``keep`` (the
        older) takes ``gone``'s lines, statistics and ids (which stay valid as aliases)."""
        limit = self.config.enum_max
        for pos, shape in gone.gen.items():
            keep.gen.setdefault(pos, shape)
        values = keep.values
        for pos in set(values) | set(gone.values):
            mine, theirs = values.get(pos), gone.values.get(pos)
            if mine is None or theirs is None or pos not in values or pos not in gone.values:
                values[pos] = None  # a variable on one side (or a wildcard constant)
                continue
            for value, count in theirs.items():
                mine[value] = mine.get(value, 0) + count
            if len(mine) > limit and not state_names(mine):
                values[pos] = None
        keep.count += gone.count
        keep.version += 1
        keep.live_enums = sum(1 for v in values.values() if v is not None)

        def moved(diffs: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
            seq = list(gone.first)
            for pos, value in diffs:
                seq[pos] = value
            return tuple(
                (pos, seq[pos])
                for pos in sorted(values)
                if values[pos] is not None and seq[pos] != keep.first[pos]
            )

        for sub, diffs in [(gone.id, ()), *gone.subs.items()]:
            keep.subs[sub] = moved(diffs)
            self._sub_owner[sub] = keep
        for sub, stat in gone.stats.items():
            new = moved(gone.subs.get(sub, ()))
            new_id = sub_id(keep.id, new)
            mine_stat = keep.stats.get(new_id)
            if mine_stat is None:
                keep.stats[new_id] = stat
                keep.subs.setdefault(new_id, new)
                self._sub_owner[new_id] = keep
                continue
            mine_stat.count += stat.count
            if stat.first is not None and (mine_stat.first is None or stat.first < mine_stat.first):
                mine_stat.first = stat.first
            if stat.last is not None and (mine_stat.last is None or stat.last > mine_stat.last):
                mine_stat.last = stat.last
        gone.merged_into = keep
        gone.stats = {}
        bucket = self._by_length[len(gone.tokens)]
        bucket.remove(gone)
        bucket.update(keep)
        self._clusters.remove(gone)

    # --- looking up --------------------------------------------------------------------------

    def final(self, entry: Entry) -> Entry:
        """``entry`` (from :meth:`learn`) rendered as its cluster is now: the template a line
        learnt earlier has once every line is learnt (``logs parse`` on files)."""
        cluster = entry.cluster
        if cluster.merged_into is not None:
            while cluster.merged_into is not None:
                cluster = cluster.merged_into
            entry.cluster = cluster
            entry.version = -1
        if entry.version != cluster.version:
            self._refresh(entry, cluster, entry.masked)
        return entry

    def match(self, message: str) -> TemplateMatch | None:
        """The template ``message`` belongs to, without learning; None when nothing fits."""
        found = self._find(learnable(message, redact_text(message)))
        return None if found is None else self._result(*found)

    def _find(self, message: str) -> tuple[Cluster, list[str], tuple[str, ...]] | None:
        request = request_tokens(message)
        if request is not None:
            masked = self.endpoints.masked(request)
            found = self._endpoints.get(masked)
            return None if found is None else (found, request, masked)
        raw = message.split()
        shapes = self.shapes
        get = shapes.tokens.get
        masked = tuple([m if (m := get(t)) is not None else shapes.mask_slow(t) for t in raw])
        entry = self._seq_cache.get(masked)
        cluster = entry.cluster if entry is not None else None
        while cluster is not None and cluster.merged_into is not None:
            cluster = cluster.merged_into
        if cluster is None:
            bucket = self._by_length.get(len(masked))
            for candidate in bucket.clusters if bucket is not None else ():
                gen = candidate.gen
                if all(
                    a == b or (i in gen and fits(gen[i], b))
                    for i, (a, b) in enumerate(zip(candidate.tokens, masked, strict=True))
                ):
                    cluster = candidate
                    break
        if cluster is None:
            return None
        return cluster, raw, masked

    def _result(self, cluster: Cluster, raw: list[str], masked: tuple[str, ...]) -> TemplateMatch:
        text, plan, diffs = self._render_for(cluster, masked)
        return TemplateMatch(id_for(cluster, diffs), text, params(plan, raw), cluster.index)

    def _render_for(
        self, cluster: Cluster, masked: tuple[str, ...]
    ) -> tuple[str, Plan, tuple[tuple[int, str], ...]]:
        """The template text for this masked sequence, how to pull its parameters, and the
        enumeration values where it differs from the cluster's first template (its id)."""
        return self._rendering(cluster, masked)[:3]

    def _rendering(self, cluster: Cluster, masked: tuple[str, ...]) -> Rendering:
        """:meth:`_render_for` and the id of the enumeration values (:func:`sub_id`), made once
        per cluster version and values at its enumerated positions: the rendering depends on
        the sequence only there (elsewhere it is the cluster's tokens)."""
        if cluster.rendered_at != cluster.version:
            values = cluster.values
            gen = cluster.gen
            cluster.enum_at = tuple(
                pos
                for pos in range(len(cluster.tokens))
                if pos in gen and values.get(pos) is not None
            )
            cluster.rendered = {}
            cluster.rendered_at = cluster.version
        key = tuple([masked[pos] for pos in cluster.enum_at])
        rendered = cluster.rendered
        found = rendered.get(key)
        if found is None:
            text, plan, diffs = self._render_slow(cluster, masked)
            if len(rendered) >= 4096:
                rendered.clear()
            found = rendered[key] = (text, plan, diffs, sub_id(cluster.id, diffs))
        return found

    @staticmethod
    def _render_slow(
        cluster: Cluster, masked: tuple[str, ...]
    ) -> tuple[str, Plan, tuple[tuple[int, str], ...]]:
        values = cluster.values
        gen = cluster.gen
        first = cluster.first
        tokens = cluster.tokens
        out = list(tokens)
        # only generalised positions and tokens with a wildcard are more than their own text
        special = [pos for pos, tok in enumerate(tokens) if WILDCARD in tok]
        if gen:
            n = len(tokens)
            special = sorted(set(special).union(pos for pos in gen if 0 <= pos < n))
        plan: list[tuple[int, int, int, str | None]] = []
        diffs: list[tuple[int, str]] = []
        for pos in special:
            tok = tokens[pos]
            if pos in gen:
                if values.get(pos) is not None:
                    tok = out[pos] = masked[pos]  # an enumeration: the value is in the template
                    if tok != first[pos]:
                        diffs.append((pos, tok))
                else:
                    prefix, suffix = gen[pos]
                    plan.append((pos, len(prefix), len(suffix), None))
                    continue
            if tok == WILDCARD:
                plan.append((pos, 0, 0, None))
            elif WILDCARD in tok:
                plan.append((pos, 0, 0, tok))
        return render(out), tuple(plan), tuple(diffs)

    def extractor(
        self, entry: Entry, lines: int | None = None
    ) -> Callable[[str], list[str]] | None:
        """A function giving a line's parameters under ``entry``'s template (None: it has none),
        for many lines of one template (``logs parse`` on files); ``lines``: how many lines it
        will read, when known (see :meth:`~prodshield.logs.params.Extractors.extractor`)."""
        return self._extract.extractor(entry.plan, lines)

    # --- reporting and state -----------------------------------------------------------------

    @property
    def cluster_count(self) -> int:
        return len(self._clusters)

    def templates(self) -> list[Template]:
        """Every template seen, most frequent first, under its current id.

        Counts of an enumeration value that has since become a variable are folded into the
        template that replaced it (see :meth:`current_id`).
        """
        merged: dict[str, Template] = {}
        for cluster in self._clusters:
            for sub, stat in cluster.stats.items():
                live = self._live_diffs(cluster, cluster.subs.get(sub, ()))
                key = id_for(cluster, live)
                tpl = merged.get(key)
                if tpl is None or cluster.joined is not None:
                    masked = list(cluster.first)
                    for pos, value in live:
                        masked[pos] = value
                    text = self._render_for(cluster, tuple(masked))[0]
                    if tpl is None:
                        merged[key] = Template(
                            key, text, stat.count, stat.example, stat.first, stat.last
                        )
                        continue
                    if text != tpl.template and text not in tpl.variants:
                        tpl.variants.append(text)
                tpl.count += stat.count
                if stat.first is not None and (
                    tpl.first_seen is None or stat.first < tpl.first_seen
                ):
                    tpl.first_seen = stat.first
                    tpl.example = stat.example
                if stat.last is not None and (tpl.last_seen is None or stat.last > tpl.last_seen):
                    tpl.last_seen = stat.last
        return sorted(merged.values(), key=lambda t: (-t.count, t.template))

    def current_id(self, template_id: str) -> str:
        """The id that now stands for ``template_id``: itself, unless it named an enumeration
        value that has become a variable (then the id of the template that absorbed it).

        Ids this miner never gave are returned unchanged.
        """
        cluster = self._sub_owner.get(template_id)
        if cluster is None:
            return template_id
        return id_for(cluster, self._live_diffs(cluster, cluster.subs.get(template_id, ())))

    @staticmethod
    def _live_diffs(
        cluster: Cluster, diffs: tuple[tuple[int, str], ...]
    ) -> tuple[tuple[int, str], ...]:
        values = cluster.values
        return tuple(d for d in diffs if values.get(d[0]) is not None)

    def state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot to resume from (see :meth:`from_state`)."""
        return {
            "version": 2,
            "lines": self.lines,
            "clusters": [
                {
                    "id": c.id,
                    "first": list(c.first),
                    "tokens": c.tokens,
                    "count": c.count,
                    "values": [[p, v] for p, v in c.values.items()],
                    "gen": [[p, list(v)] for p, v in c.gen.items()],
                    "stats": {k: [v.count, v.example, v.first, v.last] for k, v in c.stats.items()},
                    "subs": {k: [list(d) for d in v] for k, v in c.subs.items()},
                    "joined": None if c.joined is None else root_of(c.joined).id,
                }
                for c in self._clusters
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], config: MinerConfig | None = None) -> TemplateMiner:
        """A miner resuming from :meth:`state` (ids kept); an empty one for an unknown state.

        A version-1 state (ids were hashes of the template text) is read too: its clusters get
        ids from their current template and its statistics are placed by their examples.
        """
        miner = cls(config)
        version = state.get("version") if state else None
        if version not in (1, 2):
            return miner
        miner.lines = int(state.get("lines", 0))
        old_stats: list[tuple[str, list[Any]]] = []
        joins: list[tuple[Cluster, str]] = []
        for item in state.get("clusters", []):
            tokens = [str(t) for t in item["tokens"]]
            first = tuple(str(t) for t in item.get("first", tokens))
            if len(first) != len(tokens):
                continue
            cluster = miner._new_cluster(first, str(item["id"]) if "id" in item else None)
            values = {int(p): (None if v is None else dict(v)) for p, v in item["values"]}
            cluster.tokens = tokens
            cluster.count = int(item["count"])
            cluster.values = values
            cluster.gen = {int(p): (str(v[0]), str(v[1])) for p, v in item.get("gen", [])}
            cluster.live_enums = sum(1 for v in values.values() if v is not None)
            if is_endpoint(first):
                miner._endpoints[first] = cluster
                miner.endpoints.remember(first[1])
            else:
                miner._bucket(len(tokens)).add(cluster)
                miner._file_lead(cluster)
            if item.get("joined"):
                joins.append((cluster, str(item["joined"])))
            miner._by_tokens.pop(first, None)
            miner._by_tokens.setdefault(tuple(tokens), cluster)
            stats = item.get("stats", {})
            if version == 1:
                old_stats.extend(stats.items())
                continue
            for sub, (count, example, seen_first, seen_last) in stats.items():
                cluster.stats[str(sub)] = Stat(int(count), str(example), seen_first, seen_last)
            for sub, diffs in item.get("subs", {}).items():
                cluster.subs[str(sub)] = tuple((int(p), str(v)) for p, v in diffs)
                miner._sub_owner[str(sub)] = cluster
        for cluster, joined in joins:
            target = miner._by_id.get(joined)
            # a saved link points at an older cluster (an altered state may not): never a loop
            if target is not None and target.index < cluster.index:
                cluster.joined = target
        for _text, (count, example, seen_first, seen_last) in old_stats:
            found = miner._find(str(example))
            if found is None:
                continue
            cluster, _raw, masked = found
            diffs = miner._render_for(cluster, masked)[2]
            sub = sub_id(cluster.id, diffs)
            stat = cluster.stats.get(sub)
            if stat is None:
                cluster.stats[sub] = Stat(int(count), str(example), seen_first, seen_last)
                cluster.subs[sub] = diffs
                miner._sub_owner[sub] = cluster
            else:
                stat.count += int(count)
        return miner
