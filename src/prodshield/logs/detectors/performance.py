"""Performance: slow queries (grouped by normalised query), slow requests, error rates and
latency percentiles per endpoint."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from prodshield.logs.detectors.base import (
    DetectorSettings,
    EventLike,
    Gate,
    field_float,
    field_str,
)
from prodshield.logs.findings import RAW_SAMPLE, LogFinding
from prodshield.percentiles import percentile
from prodshield.text import clip, plural

_PG_DURATION = re.compile(
    r"duration: ([\d.]+) ms(?:\s+(?:statement|execute [^:]*|parse [^:]*|bind [^:]*):\s*(.*))?", re.S
)
_Q_STRING = re.compile(r"'(?:[^']|'')*'")
_Q_NUMBER = re.compile(r"(?<![\w$])\d+(?:\.\d+)?\b")
"""A number literal; not the digits of a word or of a bind placeholder (``$1`` stays ``$1``)."""
_Q_IN_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")
_Q_SPACE = re.compile(r"\s+")
_PATH_ID = re.compile(
    r"/(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})(?=/|$)",
    re.I,
)


OTHER_ENDPOINTS = "(other endpoints)"
"""The endpoint that stands for every endpoint past ``logs.detector_keys`` (a scanner asking for
thousands of paths of its own)."""
OTHER_QUERIES = "(other queries)"


def normalize_query(sql: str) -> str:
    """The query's shape: string and number literals as ``?``, a list of them ``(?)``, spaces
    one; bind placeholders as written (``$1``, as pg_stat_statements shows them)."""
    q = _Q_STRING.sub("?", sql.strip().rstrip(";"))
    q = _Q_NUMBER.sub("?", q)
    q = _Q_IN_LIST.sub("(?)", q)
    return _Q_SPACE.sub(" ", q)[:500]


def endpoint(method: str | None, path: str | None) -> str:
    p = (path or "").split("?", 1)[0] or "/"
    p = _PATH_ID.sub("/:id", p)
    return f"{method or '-'} {p}"


class _Stats:
    __slots__ = (
        "durations",
        "error_first",
        "error_last",
        "error_samples",
        "error_times",
        "errors",
        "first",
        "last",
        "peak",
        "requests",
        "requests_before",
        "samples",
        "slow",
    )

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.requests = 0
        self.errors = 0
        self.slow = 0
        self.first: Any = None
        self.last: Any = None
        self.samples: list[str] = []
        self.error_times: list[float] = []
        self.peak = 0
        self.error_first: Any = None
        self.error_last: Any = None
        self.error_samples: list[str] = []
        self.requests_before = 0
        """Requests of the 5xx finding carried from the service's last epoch (its rate goes on;
        ``requests`` and the latencies are this epoch's)."""


def peak_in_window(times: list[float], window_s: float) -> int:
    """The most timestamps (sorted) within any ``window_s`` seconds."""
    peak, j = 0, 0
    for i, s in enumerate(times):
        while times[j] < s - window_s:
            j += 1
        peak = max(peak, i - j + 1)
    return peak


def slow_request_message(ep: str, slow: int, requests: int, settings: DetectorSettings) -> str:
    """``slow requests on GET /api/orders/:id: 3 of 40 over 500 ms``, ``... 1 of 1 over 500
    ms``: a slow_request finding's message, naming its endpoint (method and path, ids masked, as
    the http_5xx finding does). Shared by the line detector and the columnar access-log engine."""
    return (
        f"slow requests on {ep}: {slow} of {plural(requests, 'request')} over "
        f"{settings.slow_request_ms:.0f} ms"
    )


def _few_requests_severity(
    errors: int, requests: int, rate: float, settings: DetectorSettings
) -> str:
    """An ``http_5xx`` finding's severity (see :func:`http_5xx_finding`)."""
    if requests >= settings.error_rate_min_requests or errors < settings.http_5xx_burst:
        return "low"
    if errors == requests:
        return "high"
    return "medium" if rate > settings.error_rate else "low"


def http_5xx_finding(
    ep: str,
    *,
    errors: int,
    requests: int,
    peak: int,
    settings: DetectorSettings,
    first: Any,
    last: Any,
    samples: list[str],
) -> LogFinding:
    """The one finding of an endpoint's 5xx responses: a burst (``http_5xx_burst``, at least
    ``http_5xx_burst`` within ``http_5xx_window_s``), else a high rate (``error_rate``), else
    ``http_5xx``. Shared by the line detector and the columnar access-log engine.

    An ``http_5xx`` is low, unless too few requests (under ``error_rate_min_requests``) hid a
    failing endpoint: at least ``http_5xx_burst`` failures and over ``error_rate`` of its
    requests make it medium, and high when every request failed (8 of 8 is an endpoint down)."""
    rate = errors / requests if requests else 0.0
    if peak >= settings.http_5xx_burst:
        kind, severity = "http_5xx_burst", "high"
    elif requests >= settings.error_rate_min_requests and rate > settings.error_rate:
        kind, severity = "error_rate", "high"
    else:
        kind, severity = "http_5xx", _few_requests_severity(errors, requests, rate, settings)
    window = f"{settings.http_5xx_window_s:.0f} s"
    share = f"{errors} of {plural(requests, 'request')} ({rate:.1%})"
    if kind == "http_5xx_burst":
        message = f"5xx burst on {ep}: {peak} within {window}; {share} failed"
    else:
        message = (
            f"{plural(errors, '5xx response')} on {ep}: {share}, at most {peak} within {window}"
        )
    return LogFinding(
        "performance",
        kind,
        severity,
        count=errors,
        first_seen=first,
        last_seen=last,
        source={"endpoint": ep},
        samples=samples[:3],
        details={
            "requests": requests,
            "errors": errors,
            "error_rate": round(rate, 4),
            "threshold": settings.error_rate,
            "peak_in_window": peak,
            "window_s": settings.http_5xx_window_s,
            "burst": settings.http_5xx_burst,
        },
        message=message,
    )


class PerformanceDetector:
    type = "performance"
    example: ClassVar[dict[str, Any]] = {
        "format": "nginx",
        "lines": [
            f'203.0.113.{i} - - [12/Mar/2024:10:15:{i:02d} +0000] "GET /api/orders HTTP/1.1" 200 512 "-" "curl/8.5" rt=2.{i:03d}'
            for i in range(30)
        ],
        "finds": "slow_request",
    }

    def __init__(self, settings: DetectorSettings) -> None:
        self.s = settings
        self.queries: dict[str, _Stats] = {}
        self.endpoints: dict[str, _Stats] = {}
        self.query_source: dict[str, str] = {}
        self._kinds: dict[str, str] = {}
        """Each endpoint's 5xx finding kind last given (the service's: ``emptied``)."""
        self.emptied: list[LogFinding] = []
        """An endpoint's 5xx finding of the kind it had before it changed kind (a burst, a rate:
        the service takes its stored row back, the new kind's row counts the same responses)."""

    def adopt(self, old: PerformanceDetector) -> list[LogFinding]:
        """Go on from ``old`` (the service's last epoch, or its config before a reload), so an
        endpoint is judged on everything the service followed, as ``logs scan`` judges it on
        the whole file. An endpoint under ``http_5xx_burst`` goes on with its 5xx finding (its
        count, requests and samples: returned, the service keeps its row), whenever its 5xx
        were, so its error rate is over all its requests; one without a 5xx goes on with its
        requests only. The times of 5xx inside ``http_5xx_window`` of the newest go on too, so
        a burst that spans the boundary forms as in one ``logs scan``; an endpoint past the burst
        goes on as a burst (whenever its 5xx were) with those times only, and counts from none
        (its row goes on from its count). At most half of ``max_keys`` endpoints go on (those with 5xx first, then
        the most requests: new endpoints keep their own keys each epoch); latencies and older
        5xx times are let go (bounded)."""
        newest = max(
            (st.error_times[-1] for st in old.endpoints.values() if st.error_times), default=None
        )
        since = newest - self.s.http_5xx_window_s if newest is not None else None
        carried: list[LogFinding] = []
        order = sorted(
            old.endpoints.items(),
            key=lambda item: (not item[1].errors, -(item[1].requests + item[1].requests_before)),
        )
        for ep, st in order[: max(1, self.s.max_keys // 2)]:
            times = [at for at in st.error_times if since is not None and at >= since]
            if st.peak >= self.s.http_5xx_burst:
                # a burst goes on whenever its 5xx were (its later 5xx are the burst's, as in one
                # scan: not an http_5xx or error_rate beside it)
                kept = self.endpoints[ep] = _Stats()
                kept.error_times, kept.peak = times, st.peak
                if ep in old._kinds:
                    self._kinds[ep] = old._kinds[ep]
                continue
            kept = self.endpoints[ep] = _Stats()
            kept.error_times, kept.peak = times, st.peak
            kept.requests_before = st.requests + st.requests_before
            if not st.errors:
                continue
            if ep in old._kinds:
                self._kinds[ep] = old._kinds[ep]
            kept.errors = st.errors
            kept.error_first, kept.error_last = st.error_first, st.error_last
            kept.error_samples = list(st.error_samples)
            carried.append(self._http_5xx(ep, kept))
        return carried

    def _http_5xx(self, ep: str, st: _Stats) -> LogFinding:
        return http_5xx_finding(
            ep,
            errors=st.errors,
            requests=st.requests + st.requests_before,
            peak=st.peak,
            settings=self.s,
            first=st.error_first,
            last=st.error_last,
            samples=st.error_samples,
        )

    def gate(self) -> Gate:
        """Requests (a status), queries with a duration, PostgreSQL's ``duration:`` lines."""
        return Gate(
            literals=("duration: ",), fields=frozenset(("status", "duration_ms", "query_time"))
        )

    def observe(self, event: EventLike) -> bool:
        """True for a 5xx response (its endpoint's 5xx finding covers the line)."""
        fields = event.fields or {}
        status = field_str(event, "status")
        if status is not None and (
            fields.get("path") is not None or fields.get("method") is not None
        ):
            ep = endpoint(field_str(event, "method"), field_str(event, "path"))
            st = self.endpoints.get(ep) or self._stats(self.endpoints, ep, OTHER_ENDPOINTS)
            st.requests += 1
            failed = status.startswith("5")
            if failed:
                self._error(st, event)
            ms = field_float(event, "duration_ms")
            if ms is None:
                rt = field_float(event, "request_time")
                ms = rt * 1000 if rt is not None else None
            if ms is not None:
                st.durations.append(ms)
                if ms >= self.s.slow_request_ms:
                    st.slow += 1
                    self._seen(st, event)
            return failed
        ms = None
        query = fields.get("query") or fields.get("statement")
        if "duration_ms" in fields and query:
            ms = field_float(event, "duration_ms")
        else:
            message = event.message or ""
            # the pattern starts with this literal: most lines are turned away without a search
            m = _PG_DURATION.search(message) if "duration: " in message else None
            if m:
                ms, query = float(m.group(1)), (m.group(2) or query or "")
            elif fields.get("query_time") is not None and query:  # MySQL slow log
                qt = field_float(event, "query_time")
                ms = qt * 1000 if qt is not None else None
        if ms is None or not query:
            return False
        nq = normalize_query(str(query))
        if nq not in self.queries and len(self.queries) >= self.s.max_keys:
            nq = OTHER_QUERIES
        st = self.queries.get(nq) or self._stats(self.queries, nq, OTHER_QUERIES)
        st.requests += 1
        st.durations.append(ms)
        self.query_source.setdefault(nq, event.source)
        if ms >= self.s.slow_query_ms:
            st.slow += 1
            self._seen(st, event)
            return True
        return False

    def _stats(self, table: dict[str, _Stats], key: str, other: str) -> _Stats:
        """A new key's stats; past ``max_keys`` keys, the one entry of all the others (their
        requests, errors and durations counted there, exactly)."""
        if len(table) >= self.s.max_keys:
            key = other
        st = table.get(key)
        if st is None:
            st = table[key] = _Stats()
        return st

    def _error(self, st: _Stats, event: EventLike) -> None:
        st.errors += 1
        now = event.timestamp.timestamp() if event.timestamp else float(st.errors)
        times = st.error_times
        times.append(now)
        cut = 0
        while cut < len(times) and times[cut] < now - self.s.http_5xx_window_s:
            cut += 1
        if cut:
            del times[:cut]
        st.peak = max(st.peak, len(times))
        if event.timestamp:
            st.error_first = st.error_first or event.timestamp
            st.error_last = event.timestamp
        if len(st.error_samples) < 3:  # redacted when the finding is sealed
            raw = getattr(event, "raw", None) or event.message
            st.error_samples.append(clip(raw, RAW_SAMPLE))

    @staticmethod
    def _seen(st: _Stats, event: EventLike) -> None:
        if event.timestamp:
            st.first = st.first or event.timestamp
            st.last = event.timestamp
        if len(st.samples) < 3:  # redacted when the finding is sealed
            st.samples.append(clip(getattr(event, "raw", None) or event.message, RAW_SAMPLE))

    def endpoint_latency(self) -> list[dict[str, Any]]:
        """p50/p95/p99 per endpoint, slowest first (for the digest and trends)."""
        out = []
        for ep, st in self.endpoints.items():
            d = sorted(st.durations)
            out.append(
                {
                    "endpoint": ep,
                    "requests": st.requests,
                    "errors": st.errors,
                    "error_rate": round(st.errors / st.requests, 4) if st.requests else 0.0,
                    "p50_ms": percentile(d, 50),
                    "p95_ms": percentile(d, 95),
                    "p99_ms": percentile(d, 99),
                }
            )
        return sorted(out, key=lambda x: -(x["p95_ms"] or 0))

    def query_latency(self) -> list[dict[str, Any]]:
        out = []
        for q, st in self.queries.items():
            d = sorted(st.durations)
            out.append(
                {
                    "query": q,
                    "calls": st.requests,
                    "slow": st.slow,
                    "max_ms": d[-1] if d else None,
                    "p95_ms": percentile(d, 95),
                    "total_ms": round(sum(d), 1),
                }
            )
        return sorted(out, key=lambda x: -(x["max_ms"] or 0))

    def findings(self) -> list[LogFinding]:
        out = []
        for q, st in self.queries.items():
            if st.slow:
                d = sorted(st.durations)
                out.append(
                    LogFinding(
                        "performance",
                        "slow_query",
                        "medium",
                        count=st.slow,
                        first_seen=st.first,
                        last_seen=st.last,
                        source={"file": self.query_source.get(q, ""), "query": q},
                        samples=st.samples,
                        details={
                            "calls": st.requests,
                            "max_ms": d[-1],
                            "p95_ms": percentile(d, 95),
                            "threshold_ms": self.s.slow_query_ms,
                        },
                        message=(
                            f"{plural(st.slow, 'execution')} over {self.s.slow_query_ms:.0f} ms"
                            f" (max {d[-1]:.0f} ms)"
                        ),
                    )
                )
        for ep, st in self.endpoints.items():
            d = sorted(st.durations)
            if st.slow:
                out.append(
                    LogFinding(
                        "performance",
                        "slow_request",
                        "medium",
                        count=st.slow,
                        first_seen=st.first,
                        last_seen=st.last,
                        source={"endpoint": ep},
                        samples=st.samples,
                        details={
                            "requests": st.requests,
                            "p95_ms": percentile(d, 95),
                            "max_ms": d[-1] if d else None,
                            "threshold_ms": self.s.slow_request_ms,
                        },
                        message=slow_request_message(ep, st.slow, st.requests, self.s),
                    )
                )
            if st.errors:
                f = self._http_5xx(ep, st)
                before = self._kinds.get(ep)
                if before is not None and before != f.kind:
                    # its earlier finding's responses are this one's now (a burst, a rate)
                    self.emptied.append(
                        LogFinding("performance", before, "low", source={"endpoint": ep})
                    )
                self._kinds[ep] = f.kind
                out.append(f)
        return out
