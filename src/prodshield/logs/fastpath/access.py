"""A columnar analyser for nginx/apache combined access logs, for gigabyte-sized files.

The line-by-line pipeline costs a few microseconds per line in Python; a daily access log of
a gigabyte deserves better. This analyser parses with one vectorised regular expression (polars,
Rust regex, all cores, streaming) and computes the same findings as the detectors: error rates,
slow requests, latency percentiles per endpoint, 401/403 bursts per client, scanner probes and
scanner user agents. ``prodshield logs scan`` uses it when every input is an uncompressed
access log, polars is installed and no window, baseline or message rule is asked for (so
``logs digest``, which always compares with a baseline, reads line by line). Secrets in the lines (a token in a query string) are found
as the line pipeline finds them: the secret scanner's literal prefilter runs over each file's
bytes and only its candidate lines are parsed and shown to ``secret_in_log``.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prodshield.logs.detectors.base import DetectorSettings, Distinct
from prodshield.logs.detectors.performance import (
    http_5xx_finding,
    peak_in_window,
    slow_request_message,
)
from prodshield.logs.detectors.redaction import redact_line
from prodshield.logs.detectors.rulepack import folded_message, load_rules, rule_message
from prodshield.logs.detectors.trends import Baseline, trend_findings
from prodshield.logs.fastpath import load_polars
from prodshield.logs.findings import LineSet, LogFinding, ScanResult, sort_findings
from prodshield.text import plural

_COMBINED = (
    r'^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+)[^"]*" (\d{3}) (\S+)'
    r'(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(?: (\S+))?(?: (\S+))?'
)
_PATH_ID = r"/(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})(/|$)"


def available() -> bool:
    try:
        load_polars()
    except ImportError:
        return False
    return True


def _rust_safe(pattern: str) -> str | None:
    """Rust's regex has no look-around; such rule patterns are left to the line pipeline."""
    return (
        None
        if "(?=" in pattern or "(?!" in pattern or "(?<" in pattern.replace("(?P<", "")
        else pattern
    )


def _windowed(
    valid: Any, since_s: float | None, baseline_s: float | None
) -> tuple[Any, Any, int, Any]:
    """(the rows of the last ``since_s`` seconds before the newest line, the baseline rows before
    them or None, how many rows fell outside, the window's start or None); all rows without
    ``since_s``."""
    pl = load_polars()

    if not (since_s and valid.height):
        return valid, None, 0, None
    newest = valid["ts"].max()
    if not isinstance(newest, datetime):
        return valid, None, 0, None
    start = newest - timedelta(seconds=since_s)
    baseline_rows = None
    if baseline_s:
        baseline_rows = valid.filter(
            (pl.col("ts") < start) & (pl.col("ts") >= start - timedelta(seconds=baseline_s))
        )
    windowed = valid.filter(pl.col("ts") >= start)
    return windowed, baseline_rows, valid.height - windowed.height, start


def _endpoint_rows(
    ep: Any, settings: DetectorSettings, findings: list[LogFinding]
) -> tuple[list[dict[str, Any]], dict[str, tuple[int, int]]]:
    """Each endpoint's summary, a slow_request finding (into ``findings``) for each with slow
    requests, and the (errors, requests) of each endpoint with 5xx."""
    endpoints: list[dict[str, Any]] = []
    failing: dict[str, tuple[int, int]] = {}
    for row in ep.iter_rows(named=True):
        endpoints.append(
            {
                "endpoint": row["endpoint"],
                "requests": row["requests"],
                "errors": row["errors"],
                "error_rate": round(row["errors"] / row["requests"], 4) if row["requests"] else 0.0,
                "p50_ms": row["p50_ms"],
                "p95_ms": row["p95_ms"],
                "p99_ms": row["p99_ms"],
            }
        )
        if row["slow"]:
            findings.append(
                LogFinding(
                    "performance",
                    "slow_request",
                    "medium",
                    count=row["slow"],
                    first_seen=row["first"],
                    last_seen=row["last"],
                    source={"endpoint": row["endpoint"]},
                    details={
                        "requests": row["requests"],
                        "p95_ms": row["p95_ms"],
                        "max_ms": row["max_ms"],
                        "threshold_ms": settings.slow_request_ms,
                    },
                    message=slow_request_message(
                        row["endpoint"], row["slow"], row["requests"], settings
                    ),
                )
            )
        if row["errors"]:
            failing[row["endpoint"]] = (row["errors"], row["requests"])
    return endpoints, failing


def analyse(
    paths: list[Path],
    settings: DetectorSettings | None = None,
    *,
    since_s: float | None = None,
    baseline_s: float | None = None,
    log_format: str = "auto",
) -> ScanResult:
    """Analyse whole files, or only the last ``since_s`` seconds before the newest line (then the
    ``baseline_s`` seconds before that window are the baseline for latency regressions)."""
    pl = load_polars()

    settings = settings or DetectorSettings()
    started = time.perf_counter()
    frames = [
        pl.scan_lines(str(p))
        .with_row_index("lineno", offset=1)  # a finding's lines: the digest counts each once
        .with_columns(pl.lit(str(p)).alias("file"))
        for p in paths
    ]
    lf = pl.concat(frames)
    parsed = lf.with_columns(pl.col("line").str.extract_groups(_COMBINED).alias("g")).unnest("g")
    names = {
        str(i): n
        for i, n in enumerate(
            [
                "ip",
                "user",
                "time",
                "method",
                "path",
                "status",
                "bytes",
                "referer",
                "agent",
                "rt",
                "urt",
            ],
            start=1,
        )
    }
    parsed = parsed.rename(names)
    rt = pl.col("rt").cast(pl.Float64, strict=False) * 1000.0
    parsed = parsed.with_columns(
        pl.col("time")
        .str.strptime(pl.Datetime("us", "UTC"), "%d/%b/%Y:%H:%M:%S %z", strict=False)
        .alias("ts"),
        pl.col("status").cast(pl.Int32, strict=False).alias("status"),
        rt.alias("ms"),
        (
            pl.col("method").fill_null("-")
            + pl.lit(" ")
            + pl.col("path").str.replace(r"\?.*$", "").str.replace_all(_PATH_ID, "/:id$1")
        ).alias("endpoint"),
    )
    df = parsed.select(
        "file",
        "lineno",
        "ip",
        "user",
        "ts",
        "method",
        "path",
        "status",
        "agent",
        "ms",
        "endpoint",
        "line",
    ).collect(engine="streaming")
    total = df.height
    valid = df.filter(pl.col("status").is_not_null())
    skipped = total - valid.height
    valid, baseline_rows, outside, start = _windowed(valid, since_s, baseline_s)
    findings: list[LogFinding] = []

    # per endpoint: requests, 5xx, slow, percentiles
    ep = (
        valid.group_by("endpoint")
        .agg(
            pl.len().alias("requests"),
            (pl.col("status") >= 500).sum().alias("errors"),
            (pl.col("ms") >= settings.slow_request_ms).sum().alias("slow"),
            pl.col("ms").quantile(0.5, "nearest").alias("p50_ms"),
            pl.col("ms").quantile(0.95, "nearest").alias("p95_ms"),
            pl.col("ms").quantile(0.99, "nearest").alias("p99_ms"),
            pl.col("ms").max().alias("max_ms"),
            pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"),
        )
        .sort("p95_ms", descending=True, nulls_last=True)
    )
    endpoints, failing = _endpoint_rows(ep, settings, findings)

    # 5xx per endpoint: one finding each, a burst when enough fall within the window
    if failing:
        errs = (
            valid.filter((pl.col("status") >= 500) & pl.col("endpoint").is_in(list(failing)))
            .select("endpoint", "ts", "line")
            .sort("endpoint", "ts")
        )
        for (name,), group in errs.group_by(["endpoint"], maintain_order=True):
            times = group["ts"].drop_nulls()
            errors, requests = failing[str(name)]
            findings.append(
                http_5xx_finding(
                    str(name),
                    errors=errors,
                    requests=requests,
                    peak=peak_in_window(
                        [x.timestamp() for x in times.to_list()], settings.http_5xx_window_s
                    ),
                    settings=settings,
                    first=_dt(times.min()),
                    last=_dt(times.max()),
                    samples=[redact_line(str(x))[:500] for x in group["line"].head(3).to_list()],
                )
            )

    # 401/403 bursts per client: the peak count within a sliding window
    auth = valid.filter(pl.col("status").is_in([401, 403])).select(
        "file", "ip", "ts", "user", "lineno"
    )
    candidates = (
        auth.group_by("file", "ip")
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= settings.http_auth_burst)
    )
    if candidates.height:
        subset = auth.join(candidates.select("file", "ip"), on=["file", "ip"]).sort(
            "file", "ip", "ts"
        )
        for (file, ip), group in subset.group_by(["file", "ip"], maintain_order=True):
            stamps = [t.timestamp() for t in group["ts"].drop_nulls().to_list()]
            peak, j = 0, 0
            for i, s in enumerate(stamps):
                while stamps[j] < s - settings.brute_force_window_s:
                    j += 1
                peak = max(peak, i - j + 1)
            if peak >= settings.http_auth_burst:
                firsts = group["ts"].drop_nulls()
                findings.append(
                    LogFinding(
                        "security",
                        "brute_force",
                        "high",
                        count=group.height,
                        first_seen=_dt(firsts.min()),
                        last_seen=_dt(firsts.max()),
                        source={"file": file, "ip": ip},
                        lines=LineSet(group["lineno"].to_list()),
                        details={
                            "max_failures_in_window": peak,
                            "window_s": settings.brute_force_window_s,
                            "via": "http",
                            "users": {},
                        },
                        message=f"{plural(group.height, 'failed login')} from {ip}",
                    )
                )

    findings += _rule_findings(valid, settings)

    findings += secret_findings(
        paths,
        settings,
        log_format,
        since=_dt(start),
    )

    hourly_df = (
        valid.filter(pl.col("ts").is_not_null())
        .group_by(pl.col("ts").dt.truncate("1h").alias("hour"))
        .agg(pl.len().alias("n"), (pl.col("status") >= 500).sum().alias("e"))
        .sort("hour")
    )
    hourly = {h.strftime("%Y-%m-%dT%H:00"): (n, e) for h, n, e in hourly_df.iter_rows()}
    first = valid["ts"].min() if valid.height else None
    last = valid["ts"].max() if valid.height else None
    statuses = Counter(dict(valid.group_by("status").len().iter_rows()))
    if baseline_rows is not None and baseline_rows.height:
        base = baseline_rows.group_by("endpoint").agg(
            pl.len().alias("n"), pl.col("ms").quantile(0.95, "nearest").alias("p95")
        )
        lo, hi = _dt(baseline_rows["ts"].min()), _dt(baseline_rows["ts"].max())
        baseline = Baseline(
            seconds=max((hi - lo).total_seconds(), 1.0) if lo and hi else 1.0,
            endpoint_p95={e: (p, n) for e, n, p in base.iter_rows() if p is not None},
        )
        findings += trend_findings(
            window_seconds=1.0,
            counts=Counter(),
            templates={},
            examples={},
            finding_counts=Counter(),
            endpoints=endpoints,
            baseline=baseline,
            source="window",
        )
    stats = {
        "lines": total,
        "events": valid.height,
        "skipped": skipped,
        "outside_window": outside,
        "baseline_events": baseline_rows.height if baseline_rows is not None else 0,
        "templates": 0,
        "findings": len(findings),
        "seconds": round(time.perf_counter() - started, 3),
        "engine": "polars",
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }
    return ScanResult(
        findings=sort_findings(findings),
        stats=stats,
        endpoints=endpoints,
        queries=[],
        templates=[],
        window=(_dt(first), _dt(last)),
        hourly=hourly,
    )


def _rule_findings(valid: Any, settings: DetectorSettings) -> list[LogFinding]:
    """Scanner probes and scanner user agents, with the rule pack's own patterns; as the line
    pipeline's rule pack, the first ``max_keys`` addresses (in line order) get findings of their
    own and the others one folded finding per kind and file."""
    pl = load_polars()
    findings: list[LogFinding] = []
    budget = settings.max_keys
    for rule in load_rules(settings.user_rules):
        if rule.field not in ("path", "user_agent"):
            continue
        column = "path" if rule.field == "path" else "agent"
        patterns = [p for p in (_rust_safe(x.pattern) for x in rule.patterns) if p]
        if not patterns:
            continue
        regex = "(?i)" + "|".join(f"(?:{p})" for p in patterns)
        hits = valid.filter(pl.col(column).str.contains(regex))
        if not hits.height:
            continue
        per_ip = (
            hits.group_by("file", "ip")
            .agg(
                pl.len().alias("n"),
                pl.col("ts").min().alias("first"),
                pl.col("ts").max().alias("last"),
                pl.col(column).head(3).alias("samples"),
                pl.col("lineno").alias("lines"),
                pl.col("lineno").min().alias("at"),
            )
            .sort("at")
        )
        folded: dict[str, tuple[LogFinding, Distinct]] = {}
        for row in per_ip.iter_rows(named=True):
            if budget <= 0:
                _fold(folded, rule, row)
                continue
            budget -= 1
            findings.append(
                LogFinding(
                    rule.category,
                    rule.kind,
                    rule.severity,
                    count=row["n"],
                    first_seen=row["first"],
                    last_seen=row["last"],
                    source={"file": row["file"], "ip": row["ip"]},
                    lines=LineSet(row["lines"]),
                    samples=[redact_line(str(s))[:300] for s in row["samples"]],
                    details={"example": redact_line(str(row["samples"][0]))[:200]}
                    if row["samples"]
                    else {},
                )
            )
            findings[-1].message = rule_message(rule, findings[-1])
        for f, others in folded.values():
            f.message = folded_message(rule, f, others)
            f.details["keys_tracked"] = settings.max_keys
            f.details["other_keys"] = len(others)
            findings.append(f)

    return findings


def _fold(folded: dict[str, tuple[LogFinding, Distinct]], rule: Any, row: dict[str, Any]) -> None:
    """An address past the cap: its lines added to its file's folded finding."""
    file = row["file"]
    if file not in folded:
        folded[file] = (
            LogFinding(
                rule.category,
                rule.kind,
                rule.severity,
                source={"file": file, "others": "addresses"},
                details={"example": redact_line(str(row["samples"][0]))[:200]}
                if row["samples"]
                else {},
            ),
            Distinct(),
        )
    f, others = folded[file]
    others.add(str(row["ip"]))
    f.add(row["first"], None, n=row["n"])
    f.add(row["last"], None, n=0)
    for sample in row["samples"]:
        if len(f.samples) < 3:
            f.samples.append(redact_line(str(sample))[:300])


def secret_findings(
    paths: list[Path],
    settings: DetectorSettings,
    log_format: str = "auto",
    *,
    since: datetime | None = None,
) -> list[LogFinding]:
    """``secret_in_log`` over whole files, as the line pipeline reports it: the scanner's literal
    prefilter (hyperscan when installed) runs over each file's bytes a block at a time, and only
    the candidate lines are decoded, parsed and shown to the detector (with their line numbers).
    ``since``: lines stamped before it are left out, as the window leaves them out."""
    from prodshield.logs.api import parse_lines, resolve_format
    from prodshield.logs.detectors.secrets import SecretInLogDetector
    from prodshield.secrets.files import iter_blocks

    detector = SecretInLogDetector(settings)
    prefilter = detector.scanner.prefilter
    for path in paths:
        source = str(path)
        layout = None
        with path.open("rb") as stream:
            lineno = 1  # the number of the block's first line
            for block in iter_blocks(stream):
                position = 0
                for at in prefilter.line_starts(block):
                    lineno += block.count(b"\n", position, at)
                    position = at
                    end = block.find(b"\n", at)
                    line = block[at : end if end != -1 else len(block)].decode("utf-8", "replace")
                    line = line.rstrip("\r")
                    if layout is None:
                        with path.open("r", encoding="utf-8", errors="replace") as fh:
                            head = [fh.readline().rstrip("\r\n") for _ in range(50)]
                        layout = resolve_format(log_format, [h for h in head if h])
                    for event in parse_lines([line], source, layout, first_line=lineno):
                        if since is not None and _before(event.timestamp, since):
                            continue
                        detector.observe(event)
                lineno += block.count(b"\n", position)
    return [f.seal() for f in detector.findings()]


def _before(ts: datetime | None, since: datetime) -> bool:
    if ts is None:
        return False
    if ts.tzinfo is None:
        return ts < since.replace(tzinfo=None)
    return ts < since


def _dt(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def is_access_log(path: Path, sample_lines: int = 20) -> bool:
    """Whether an uncompressed file's first lines look like a combined access log."""
    import re

    if path.suffix in (".gz", ".bz2", ".xz", ".zst"):
        return False
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            lines = [fh.readline() for _ in range(sample_lines)]
    except OSError:
        return False
    lines = [ln for ln in lines if ln.strip()]
    rx = re.compile(_COMBINED)
    return bool(lines) and sum(1 for ln in lines if rx.match(ln)) >= max(1, int(0.9 * len(lines)))
