"""Streaming online template mining.

One pass, memory bounded by the number of templates: each message is split on whitespace, the
variable pieces of its tokens are masked (:mod:`prodshield.logs.masking`), and the masked token
sequence either hits the exact-sequence cache or is compared with the clusters of the same length
(Drain's idea: a cluster is a token sequence where positions that differed became wildcards).

A position that became a wildcard by merging keeps the set of values seen there, up to
``enum_max`` of them. While it has that few values it is treated as an *enumeration* and each value
stays in the template (``Transitioned from NEW to INITED`` and ``... from INITED to SETUP`` are two
templates, as in the labelled data); past ``enum_max`` the position is a variable for good and its
values are forgotten. The template text follows the labelling conventions: each variable is one
``<*>``, adjacent wildcards without a separator merge.

Template ids are a stable hash of the template text, so they do not depend on the order in which
clusters were created, and the state round-trips through :meth:`TemplateMiner.state`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from prodshield.logs.masking import WILDCARD, mask_token

_MULTI_DIGITS = re.compile(r"\d\d+")
_ONE_DIGIT = str.maketrans(dict.fromkeys("0123456789", "\x02"))
_DIGIT = re.compile(r"\d")
_MERGE_ADJ = re.compile(r"(?:<\*>){2,}")


@dataclass(frozen=True, slots=True)
class MinerConfig:
    """The one general configuration; the defaults are used for every source."""

    similarity: float = 0.6
    """Share of positions that must agree for a message to join a cluster."""
    enum_max: int = 4
    """A merged position with at most this many distinct values keeps them as constants."""
    max_clusters_per_length: int = 2000
    cache_size: int = 100_000


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


@dataclass(slots=True)
class _Cluster:
    index: int
    tokens: list[str]
    count: int = 0
    # generalized position -> {masked value: count}, or None once it has too many values
    values: dict[int, dict[str, int] | None] = field(default_factory=dict)
    # generalized position -> the (prefix, suffix) its values share, e.g. ("(", ")")
    gen: dict[int, tuple[str, str]] = field(default_factory=dict)
    version: int = 0
    """Bumped whenever the template text can change (a merge, an enumeration overflowing)."""
    live_enums: int = 0
    # per rendered template: count, example, first/last seen
    stats: dict[str, list[Any]] = field(default_factory=dict)


def template_id(template: str) -> str:
    """The stable id of a template text."""
    return hashlib.blake2b(template.encode("utf-8"), digest_size=8).hexdigest()


_OPEN = frozenset("=:([{<#@/'\"")
_CLOSE = frozenset(")]}>,;:'\"")


def _common_shape(a: str, b: str) -> tuple[str, str]:
    """The prefix and suffix two differing tokens share, cut at punctuation (``uid=``, ``(``)."""
    # a wildcard is one symbol here, so a cut never falls inside one
    a = a.replace(WILDCARD, "\x00")
    b = b.replace(WILDCARD, "\x00")
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    while i > 0 and a[i - 1] not in _OPEN:
        i -= 1
    prefix = a[:i]
    j = 0
    limit = n - i
    while j < limit and a[-1 - j] == b[-1 - j]:
        j += 1
    while j > 0 and a[-j] not in _CLOSE:
        j -= 1
    suffix = a[len(a) - j :] if j else ""
    if "\x00" in prefix or "\x00" in suffix:
        return ("", "")
    return prefix, suffix


def _fits(shape: tuple[str, str], token: str) -> bool:
    prefix, suffix = shape
    return (
        len(token) >= len(prefix) + len(suffix)
        and token.startswith(prefix)
        and token.endswith(suffix)
    )


def _render(tokens: list[str]) -> str:
    text = " ".join(tokens)
    if "<*><*>" in text:
        text = _MERGE_ADJ.sub(WILDCARD, text)
    return text


class TemplateMiner:
    """The streaming miner. ``add`` learns from a message; ``match`` only looks it up."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self._mask_cache: dict[str, str] = {}
        # line shape -> (masked sequence, positions re-masked per line)
        self._shape_cache: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
        self._clusters: list[_Cluster] = []
        self._by_length: dict[int, list[_Cluster]] = {}
        # masked sequence -> [cluster, cluster version, template, template id, param plan]
        self._seq_cache: dict[tuple[str, ...], list[Any]] = {}
        self._token_re: dict[str, re.Pattern[str]] = {}
        self.lines = 0

    # --- learning ----------------------------------------------------------------------------

    def add(self, message: str, *, timestamp: float | None = None) -> TemplateMatch:
        """Learn from ``message`` and return its template as of now."""
        raw = message.split()
        # Masking looks at digits only through their runs: where a run starts and whether it has
        # one digit or several. Lines with the same "shape" (runs of several digits -> \x01, other
        # digits -> \x02) mask the same way, except tokens that keep a digit as a constant (ssh2),
        # which are re-masked from the line itself. Two C-level passes find the shape.
        shape = _MULTI_DIGITS.sub("\x01", message).translate(_ONE_DIGIT)
        known = self._shape_cache.get(shape)
        if known is None:
            get = self._mask_cache.get
            masked = tuple([m if (m := get(t)) is not None else self._mask_slow(t) for t in raw])
            if len(self._shape_cache) >= self.config.cache_size:
                self._shape_cache.clear()
            keep = tuple(i for i, m in enumerate(masked) if _DIGIT.search(m))
            self._shape_cache[shape] = (masked, keep)
        elif known[1]:
            rebuilt = list(known[0])
            get = self._mask_cache.get
            for i in known[1]:
                t = raw[i]
                rebuilt[i] = m if (m := get(t)) is not None else self._mask_slow(t)
            masked = tuple(rebuilt)
        else:
            masked = known[0]
        self.lines += 1
        entry = self._seq_cache.get(masked)
        if entry is None:
            cluster = self._place(masked)
            entry = [cluster, -1, "", "", ()]
            if len(self._seq_cache) >= self.config.cache_size:
                self._seq_cache.clear()
            self._seq_cache[masked] = entry
        else:
            cluster = entry[0]
        cluster.count += 1
        if cluster.live_enums:
            self._count_enums(cluster, masked)
        if entry[1] != cluster.version:
            text, plan = self._render_for(cluster, masked)
            entry[1:] = [cluster.version, text, template_id(text), plan]
        text = entry[2]
        params = self._params(entry[4], raw)
        stat = cluster.stats.get(text)
        if stat is None:
            cluster.stats[text] = [1, message[:500], timestamp, timestamp]
        else:
            stat[0] += 1
            if timestamp is not None:
                if stat[2] is None or timestamp < stat[2]:
                    stat[2] = timestamp
                if stat[3] is None or timestamp > stat[3]:
                    stat[3] = timestamp
        return TemplateMatch(entry[3], text, params, cluster.index)

    def _mask_slow(self, token: str) -> str:
        if token.isdigit():
            return WILDCARD  # the commonest variable: not worth a cache slot
        masked = mask_token(token)
        cache = self._mask_cache
        # constants repeat and are few; values are mostly unique: cache them only while there is
        # room, so they never evict the vocabulary
        if masked == token or len(cache) < self.config.cache_size // 2:
            if len(cache) >= self.config.cache_size:
                cache.clear()
            cache[token] = masked
        return masked

    def _count_enums(self, cluster: _Cluster, masked: tuple[str, ...]) -> None:
        values = cluster.values
        limit = self.config.enum_max
        live = 0
        for pos, seen in values.items():
            if seen is None:
                continue
            value = masked[pos]
            seen[value] = seen.get(value, 0) + 1
            if len(seen) > limit or WILDCARD in value:
                values[pos] = None
                cluster.version += 1
            else:
                live += 1
        cluster.live_enums = live

    def _place(self, masked: tuple[str, ...]) -> _Cluster:
        n = len(masked)
        bucket = self._by_length.setdefault(n, [])
        best: _Cluster | None = None
        best_score = -1.0
        threshold = self.config.similarity
        for cluster in bucket:
            score = self._similarity(cluster.tokens, masked)
            if score >= threshold and score > best_score:
                best, best_score = cluster, score
        if best is None:
            if len(bucket) >= self.config.max_clusters_per_length:
                # bounded memory: the least-used cluster of this length absorbs the newcomer
                best = min(bucket, key=lambda c: c.count)
            else:
                best = _Cluster(len(self._clusters), list(masked))
                self._clusters.append(best)
                bucket.append(best)
                return best
        self._merge(best, masked)
        return best

    @staticmethod
    def _similarity(tokens: list[str], masked: tuple[str, ...]) -> float:
        # positions where both sides are bare wildcards say nothing either way
        same = 0
        both_wild = 0
        for a, b in zip(tokens, masked, strict=True):
            if a == b:
                if a == WILDCARD:
                    both_wild += 1
                else:
                    same += 1
        n = len(masked) - both_wild
        return 1.0 if n == 0 else same / n

    def _merge(self, cluster: _Cluster, masked: tuple[str, ...]) -> None:
        tokens = cluster.tokens
        gen = cluster.gen
        for pos, (a, b) in enumerate(zip(tokens, masked, strict=True)):
            if a == b:
                continue
            shape = gen.get(pos)
            if shape is None:
                # first disagreement here: every earlier member had ``a``
                cluster.values[pos] = None if WILDCARD in a else {a: cluster.count}
                shape = _common_shape(a, b)
            elif not _fits(shape, b):
                shape = ("", "")
            else:
                continue
            gen[pos] = shape
            tokens[pos] = shape[0] + WILDCARD + shape[1]
        cluster.version += 1
        cluster.live_enums = sum(1 for v in cluster.values.values() if v is not None)

    # --- looking up --------------------------------------------------------------------------

    def match(self, message: str) -> TemplateMatch | None:
        """The template ``message`` belongs to, without learning; None when nothing fits."""
        raw = message.split()
        get = self._mask_cache.get
        masked = tuple([m if (m := get(t)) is not None else self._mask_slow(t) for t in raw])
        entry = self._seq_cache.get(masked)
        cluster = entry[0] if entry is not None else None
        if cluster is None:
            for candidate in self._by_length.get(len(masked), ()):
                gen = candidate.gen
                if all(
                    a == b or (i in gen and _fits(gen[i], b))
                    for i, (a, b) in enumerate(zip(candidate.tokens, masked, strict=True))
                ):
                    cluster = candidate
                    break
        if cluster is None:
            return None
        return self._result(cluster, raw, masked)

    def _result(self, cluster: _Cluster, raw: list[str], masked: tuple[str, ...]) -> TemplateMatch:
        text, plan = self._render_for(cluster, masked)
        return TemplateMatch(template_id(text), text, self._params(plan, raw), cluster.index)

    def _render_for(
        self, cluster: _Cluster, masked: tuple[str, ...]
    ) -> tuple[str, tuple[tuple[int, int, int, re.Pattern[str] | None], ...]]:
        """The template text for this masked sequence and how to pull its parameters."""
        values = cluster.values
        gen = cluster.gen
        plan: list[tuple[int, int, int, re.Pattern[str] | None]] = []
        out: list[str] = []
        for pos, tok in enumerate(cluster.tokens):
            if pos in gen:
                if values.get(pos) is not None:
                    tok = masked[pos]  # an enumeration: the value is part of the template
                else:
                    prefix, suffix = gen[pos]
                    plan.append((pos, len(prefix), len(suffix), None))
                    out.append(tok)
                    continue
            out.append(tok)
            if tok == WILDCARD:
                plan.append((pos, 0, 0, None))
            elif WILDCARD in tok:
                plan.append((pos, 0, 0, self._token_pattern(tok)))
        return _render(out), tuple(plan)

    @staticmethod
    def _params(
        plan: tuple[tuple[int, int, int, re.Pattern[str] | None], ...], raw: list[str]
    ) -> list[str]:
        params: list[str] = []
        for pos, head, tail, pattern in plan:
            value = raw[pos]
            if pattern is None:
                params.append(value[head : len(value) - tail] if head or tail else value)
            else:
                found = pattern.match(value)
                if found is None:
                    params.append(value)
                else:
                    params.extend(found.groups())
        return params

    def _token_pattern(self, masked: str) -> re.Pattern[str]:
        pattern = self._token_re.get(masked)
        if pattern is None:
            pattern = re.compile(
                "(.*?)".join(re.escape(part) for part in masked.split(WILDCARD)) + r"\Z", re.S
            )
            if len(self._token_re) > 50_000:
                self._token_re.clear()
            self._token_re[masked] = pattern
        return pattern

    # --- reporting and state -----------------------------------------------------------------

    @property
    def cluster_count(self) -> int:
        return len(self._clusters)

    def templates(self) -> list[Template]:
        """Every template seen, most frequent first."""
        merged: dict[str, Template] = {}
        for cluster in self._clusters:
            for text, (count, example, first, last) in cluster.stats.items():
                # a template seen before its cluster generalized is folded into the current one
                current = self.match(example)
                key = current.template if current is not None else text
                tpl = merged.get(key)
                if tpl is None:
                    merged[key] = Template(template_id(key), key, count, example, first, last)
                else:
                    tpl.count += count
                    if first is not None and (tpl.first_seen is None or first < tpl.first_seen):
                        tpl.first_seen = first
                    if last is not None and (tpl.last_seen is None or last > tpl.last_seen):
                        tpl.last_seen = last
        return sorted(merged.values(), key=lambda t: (-t.count, t.template))

    def state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot to resume from (see :meth:`from_state`)."""
        return {
            "version": 1,
            "lines": self.lines,
            "clusters": [
                {
                    "tokens": c.tokens,
                    "count": c.count,
                    "values": [[p, v] for p, v in c.values.items()],
                    "gen": [[p, list(v)] for p, v in c.gen.items()],
                    "stats": c.stats,
                }
                for c in self._clusters
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], config: MinerConfig | None = None) -> TemplateMiner:
        miner = cls(config)
        if not state or state.get("version") != 1:
            return miner
        miner.lines = int(state.get("lines", 0))
        for item in state.get("clusters", []):
            values = {int(p): (None if v is None else dict(v)) for p, v in item["values"]}
            cluster = _Cluster(
                index=len(miner._clusters),
                tokens=[str(t) for t in item["tokens"]],
                count=int(item["count"]),
                values=values,
                gen={int(p): (str(v[0]), str(v[1])) for p, v in item.get("gen", [])},
                live_enums=sum(1 for v in values.values() if v is not None),
                stats={str(k): list(v) for k, v in item.get("stats", {}).items()},
            )
            miner._clusters.append(cluster)
            miner._by_length.setdefault(len(cluster.tokens), []).append(cluster)
        return miner
