"""Evidence on an incident: what else prodshield knows about the failing service at that time.

While an incident is open, the log findings of the same service and environment (5xx bursts on an
endpoint, error-rate rises, OOM kills, database connection failures, slow queries...), the log
templates first seen since the service's latest deploy, that deploy itself, the audit findings new
in the latest audit run, and the chaos runs and toxics that could have caused it (on the service's
path, on during its failures) are gathered here and kept in
``incident_evidence`` (one row per kind and key, at most :data:`MAX_ITEMS` per incident, every text
redacted and bounded). The monitor records them when it opens an incident (the GitHub issue's
"Evidence" section) and refreshes them while it stays open (a comment per new kind).

This module reads the store tables of the other capabilities directly and imports none of them.
Which service a log finding belongs to: the one its writer named (``details.service`` and
``details.environment``, logs/record.py); else a finding that names its file belongs to the log
source whose path matches it, and one of the access-log detectors (keyed by endpoint) that names
no file belongs to every log source's service. A source or marker without an environment matches
all. Besides the findings seen around the incident, those the last one-shot run (``logs scan`` /
``logs digest``) stored count, for a day and a half: a daily digest in GitHub Actions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any

from sqlalchemy import Connection, and_, desc, or_, select

from prodshield.secrets.redaction import redact_text
from prodshield.severity import worst_first
from prodshield.store import tables as t
from prodshield.store.auditruns import bases, compare
from prodshield.text import reclip

MAX_ITEMS = 50
"""Evidence rows kept per incident (the first ones; later ones are counted, not stored)."""
MAX_SUMMARY = 300
LOOKBACK_S = 900.0
"""Findings seen this long before the incident opened still count (the burst that caused it)."""
AUDIT_RECENT_S = 86400.0
SCAN_RECENT_S = 36 * 3600.0
"""The last ``logs scan``/``digest`` run's findings are evidence this long after it ran (a daily
digest, with room for a late run)."""

LOG_CATEGORIES = ("critical", "performance", "trend")
"""Categories of log findings that are evidence of an outage (5xx bursts, error rates, slow
queries; OOM, database connection failures, crashes; spikes and latency regressions). Security
findings (brute force, scanners) are not."""
MAX_LOG_ITEMS = 20

MAX_AUDIT_ITEMS = 3
"""The audit's new findings listed one by one on an incident, worst first; the rest are one line
with their count per severity (a deploy's audit is about the whole tree, not the failing
service, so it supports the incident rather than filling it)."""

TITLES = {
    "deploy": "Deploy",
    "new_template": "New log template since the deploy",
    "audit": "New audit finding",
    "chaos": "Chaos experiment",
}
TOXIC_TITLE = "Chaos toxic"
"""The title of a toxic found active on a proxy (kind ``chaos`` with a ``toxic`` in its details):
added through the API, toxiproxy-cli or ``chaos toxic add``, by no experiment."""


def title_of(item: Item) -> str:
    """How notifications title an evidence piece."""
    if item.kind == "chaos" and item.details.get("toxic"):
        return TOXIC_TITLE
    return TITLES.get(item.kind, item.kind.replace("_", " "))


@dataclass
class Item:
    """One piece of evidence: ``kind`` (a log finding's kind, ``new_template``, ``deploy``,
    ``audit``, ``chaos``), ``key`` (what makes it distinct within its kind), when it was seen and
    one line about it."""

    kind: str
    key: str
    at: float
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def sealed_text(self) -> Item:
        """The same piece with its summary redacted and bounded as stored (its key kept)."""
        summary = reclip(" ".join(redact_text(self.summary).split()), MAX_SUMMARY)
        return Item(self.kind, self.key, self.at, summary, self.details)

    def sealed(self) -> Item:
        return Item(
            self.kind[:64],
            hashlib.sha1(self.key.encode("utf-8", "replace")).hexdigest()[:32],
            self.at,
            reclip(" ".join(redact_text(self.summary).split()), MAX_SUMMARY),
            {
                k: reclip(redact_text(str(v)), MAX_SUMMARY) if isinstance(v, str) else v
                for k, v in list(self.details.items())[:10]
                if isinstance(v, str | int | float | bool) or v is None
            },
        )


def _source_matches(path: str, pattern: str) -> bool:
    if not path or not pattern:
        return False
    return (
        path == pattern
        or fnmatch(path, pattern)
        or fnmatch(os.path.basename(path), os.path.basename(pattern))
        or path.startswith(pattern.rstrip("/") + "/")
    )


def sources_of(config: Any, service: str, environment: str) -> tuple[list[Any], bool]:
    """The log sources of ``service`` in ``environment``, and whether the service has any."""
    mine = [
        s
        for s in config.logs.sources
        if (s.service or s.name) == service and (not s.environment or s.environment == environment)
    ]
    return mine, bool(mine)


def gather(
    conn: Connection,
    config: Any,
    *,
    service: str,
    environment: str,
    opened_at: float,
    now: float | None = None,
    kind: str = "",
    detected_at: float | None = None,
) -> list[Item]:
    """Everything known now about ``service`` in ``environment`` around an incident that opened
    at ``opened_at`` (its first failure) and was detected at ``detected_at`` (the failure that
    crossed the threshold; default now), of incident kind ``kind``; sealed (redacted, bounded),
    in time order."""
    now = time.time() if now is None else now
    detected = now if detected_at is None else min(float(detected_at), now)
    since = opened_at - LOOKBACK_S
    items: list[Item] = []
    deploy = _latest_deploy(conn, service, environment, now)
    if deploy is not None:
        # "shop v2.4.0 deployed to production at ...", or "version v2.4.0 deployed ..."
        what = [deploy.service] if deploy.service else ["version"]
        scope = [f"to {deploy.environment}"] if deploy.environment else []
        items.append(
            Item(
                "deploy",
                str(deploy.id),
                float(deploy.deployed_at),
                " ".join([*what, deploy.version, "deployed", *scope])
                + f" at {_iso(deploy.deployed_at)}",
                {"version": deploy.version},
            )
        )
    sources, has_logs = sources_of(config, service, environment)
    if has_logs:
        items += _log_findings(
            conn,
            config,
            sources,
            since,
            deploy is not None,
            service=service,
            environment=environment,
            now=now,
        )
        if deploy is not None:
            items += _new_templates(conn, sources, float(deploy.deployed_at), since)
    items += _audit(conn, now)
    if kind not in NOT_BY_TOXICS:
        items += _chaos(conn, config, service, opened_at, detected)
        items += _active_toxics(conn, config, service, now, detected)
    sealed = [i.sealed() for i in items]
    sealed.sort(key=lambda i: i.at)
    return sealed


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _latest_deploy(conn: Connection, service: str, environment: str, now: float) -> Any:
    d = t.deploys
    return conn.execute(
        select(d)
        .where(
            or_(d.c.service == service, d.c.service == ""),
            or_(d.c.environment == environment, d.c.environment == ""),
            d.c.deployed_at <= now,
        )
        .order_by(desc(d.c.deployed_at), desc(d.c.id))
        .limit(1)
    ).first()


def last_scan_at(conn: Connection, now: float) -> float | None:
    """When the last one-shot log run (``logs scan``/``logs digest``, kv logs/last_scan) stored
    its findings, if within :data:`SCAN_RECENT_S`: the findings it wrote are evidence even when
    the lines are hours old (a daily digest in GitHub Actions)."""
    kv = t.kv
    value = conn.execute(
        select(kv.c.value).where(kv.c.namespace == "logs", kv.c.key == "last_scan")
    ).scalar()
    at = value.get("at") if isinstance(value, dict) else None
    if not isinstance(at, int | float) or not now - SCAN_RECENT_S <= at <= now + 60:
        return None
    return float(at)


def _log_findings(
    conn: Connection,
    config: Any,
    sources: Sequence[Any],
    since: float,
    skip_new_templates: bool,
    *,
    service: str = "",
    environment: str = "",
    now: float | None = None,
) -> list[Item]:
    f = t.log_findings
    seen = f.c.last_seen >= since
    scanned = last_scan_at(conn, time.time() if now is None else now)
    if scanned is not None:
        seen = or_(seen, f.c.updated_at >= scanned)
    rows = conn.execute(select(f).where(seen).order_by(desc(f.c.last_seen)).limit(500)).all()
    all_sources = list(config.logs.sources)
    out: list[Item] = []
    for row in rows:
        if row.category not in LOG_CATEGORIES:
            continue
        if row.kind == "new_template" and skip_new_templates:
            continue  # the templates new since the deploy say it better
        source = row.source if isinstance(row.source, dict) else {}
        details = row.details if isinstance(row.details, dict) else {}
        # the writer names the service and environment of the finding's source when it knows
        if service and details.get("service") and details["service"] != service:
            continue
        if environment and details.get("environment") and details["environment"] != environment:
            continue
        file = str(source.get("file") or "")
        if not details.get("service") and not belongs(file, sources, all_sources):
            continue
        key = f"{row.kind}:{sorted((k, str(v)) for k, v in source.items() if k != 'file')}"
        what = str(row.message or row.kind)
        out.append(
            Item(
                row.kind,
                key,
                float(row.first_seen or row.last_seen or since),
                what,
                {
                    "severity": row.severity,
                    "count": int(row._mapping["count"] or 0),
                    "endpoint": str(source.get("endpoint") or "") or None,
                    "category": row.category,
                },
            )
        )
        if len(out) >= MAX_LOG_ITEMS:
            break
    return out


def belongs(file: str, sources: Sequence[Any], all_sources: Sequence[Any]) -> bool:
    """Whether a finding its writer did not attribute belongs to ``sources``: by its file, or,
    naming no file, when any source is configured."""
    if file:
        return any(_source_matches(file, s.path) for s in sources)
    return bool(all_sources)


def _new_templates(
    conn: Connection, sources: Sequence[Any], deployed_at: float, since: float
) -> list[Item]:
    lt = t.log_templates
    names = [s.name for s in sources]
    rows = conn.execute(
        select(lt)
        .where(lt.c.first_seen > deployed_at, lt.c.source.in_(names))
        .order_by(lt.c.first_seen)
        .limit(20)
    ).all()
    return [
        Item(
            "new_template",
            str(row.id),
            float(row.first_seen),
            f"new since the deploy: {row.template}",
            {
                "template": row.template,
                "count": int(row._mapping["count"] or 0),
                "source": row.source,
            },
        )
        for row in rows
    ]


AUDIT_BASE_SEARCH = 200
"""Earlier audit runs searched for the one each family of the latest run is compared with."""


def _audit(conn: Connection, now: float) -> list[Item]:
    r, f = t.audit_runs, t.audit_findings
    runs = conn.execute(
        select(r).where(r.c.finished_at.is_not(None)).order_by(desc(r.c.started_at)).limit(1)
    ).all()
    if not runs or (runs[0].finished_at or 0) < now - AUDIT_RECENT_S:
        return []
    latest = runs[0]
    # each family the latest run checked is compared with the last run that checked it the same
    # way (a `--only permissions` run fixes no secret, and the next full run's secrets are not
    # new); a family no run checked before is all new
    earlier = conn.execute(
        select(r.c.id, r.c.passed, r.c.summary)
        .where(r.c.finished_at.is_not(None), r.c.id != latest.id)
        .where(r.c.started_at <= latest.started_at)
        .order_by(desc(r.c.started_at))
        .limit(AUDIT_BASE_SEARCH)
    ).all()
    based = bases(dict(latest._mapping), [dict(e._mapping) for e in earlier])
    base_ids = sorted({b for b in based.values() if b is not None})
    before: dict[int, list[dict[str, Any]]] = {b: [] for b in base_ids}
    for run_id, family, fp in conn.execute(
        select(f.c.run_id, f.c.family, f.c.fingerprint).where(f.c.run_id.in_(base_ids))
    ):
        before[int(run_id)].append({"family": family, "fingerprint": fp})
    rows = conn.execute(select(f).where(f.c.run_id == latest.id).order_by(f.c.id).limit(200)).all()
    found, _ = compare([dict(row._mapping) for row in rows], based, before, unbased_new=True)
    fresh = {str(m["fingerprint"]) for m in found}
    new = [row for row in rows if row.fingerprint in fresh]
    new.sort(key=lambda row: worst_first(row.severity))  # stable: the run's order within a level
    at = float(latest.finished_at or latest.started_at)
    out = []
    for row in new[:MAX_AUDIT_ITEMS]:
        where = (
            f" ({row.path}:{row.line})"
            if row.path and row.line
            else (f" ({row.path})" if row.path else "")
        )
        out.append(
            Item(
                "audit",
                row.fingerprint,
                at,
                f"{row.severity} {row.rule}: {row.title}{where}",
                {"severity": row.severity, "rule": row.rule},
            )
        )
    rest = new[MAX_AUDIT_ITEMS:]
    if rest:
        counts: dict[str, int] = {}
        for row in rest:
            counts[row.severity] = counts.get(row.severity, 0) + 1
        levels = ", ".join(
            f"{n} {level}" for level, n in sorted(counts.items(), key=lambda kv: worst_first(kv[0]))
        )
        more = f"{len(rest)}+" if len(rows) >= 200 else str(len(rest))  # the query's bound
        out.append(
            Item(
                "audit",
                f"run-{latest.id}-more",
                at,
                f"{more} more new audit findings in run #{latest.id} ({levels}): see prodshield audit history",
                {"more": len(rest), "run": latest.id},
            )
        )
    return out


CHAOS_RUNNING_MAX_S = 86400.0
"""A run stored as ``running`` longer ago than this is taken for one whose process died."""
CHAOS_GRACE_S = 60.0
"""A run or toxic that ended this long before the incident's first failure may still have caused
it (a request sent while the toxic was on, answered or timed out later)."""
NOT_BY_TOXICS = frozenset({"certificate"})
"""Incident kinds no toxic explains, so chaos is never their evidence: a certificate close to
expiry (only ``[CERTIFICATE_EXPIRATION]`` fails) is a property of the certificate, not of the
path to it. Every other kind (down, degraded, flapping, SLO burn) can be a toxic's doing:
latency makes ``[RESPONSE_TIME]`` fail, ``http_status`` the status, ``timeout`` and
``reset_peer`` the connection."""


def _chaos(
    conn: Connection, config: Any, service: str, opened_at: float, detected_at: float
) -> list[Item]:
    """Chaos runs that may have caused the incident: one that injected a toxic on a proxy on the
    service's path or in front of one of its dependencies (a shield.yaml proxy, by address or
    ``depends_on``), and was on during the failures that opened the incident (started by the
    time it was detected, not ended before its first failure). A run that injected nothing
    there (no toxics, other proxies, never started) is not evidence."""
    j = t.experiment_journals
    rows = conn.execute(
        select(
            j.c.id, j.c.title, j.c.status, j.c.started_at, j.c.ended_at, j.c.deviated, j.c.journal
        )
        .where(
            j.c.started_at <= detected_at,
            or_(
                and_(j.c.ended_at.is_(None), j.c.started_at >= detected_at - CHAOS_RUNNING_MAX_S),
                j.c.ended_at >= opened_at - CHAOS_GRACE_S,
            ),
            j.c.status != "skipped",
        )
        .order_by(desc(j.c.started_at))
        .limit(20)
    ).all()
    out = []
    for row in rows:
        journal = row.journal if isinstance(row.journal, dict) else {}
        found = journal.get("prodshield")
        extra: dict[str, Any] = found if isinstance(found, dict) else {}
        if _not_started(journal, extra):
            continue  # it injected nothing
        toxics = [x for x in (extra.get("toxics") or []) if isinstance(x, dict)]
        described = [
            d for d in (_describe_toxic(config, service, x) for x in toxics) if d is not None
        ][:5]
        if not described:
            continue
        toxics_text = "; ".join(described)
        running = row.ended_at is None and row.status == "running"
        details: dict[str, Any] = {
            "run": int(row.id),
            "status": row.status,
            "running": running,
            "deviated": bool(row.deviated),
            "toxics": toxics_text,
        }
        if extra.get("environment"):
            details["environment"] = str(extra["environment"])
        if extra.get("source"):
            details["source"] = str(extra["source"])
        dependency = [d for d in described if "in front of" in d]
        if dependency:
            details["dependency"] = "; ".join(dependency)
        summary = run_summary(row.title, details, row.started_at, row.ended_at)
        out.append(Item("chaos", str(row.id), float(row.started_at), summary, details))
        if len(out) >= 5:
            break
    return out


def run_summary(title: str, details: dict[str, Any], started: float, ended: float | None) -> str:
    """One line about a chaos run: ``was running`` while it runs, ``ran (aborted)`` (with
    ``, deviated``) once it ended, with its toxics on the service's path."""
    when = f"started {_iso(started)}"
    if details.get("running"):
        what = "was running"
    else:
        what = f"ran ({details.get('status')}" + (", deviated)" if details.get("deviated") else ")")
        if ended is not None:
            when += f", ended {_iso(ended)}"
    return f"chaos experiment {title!r} {what} ({when}, toxics: {details.get('toxics')})"


def _not_started(journal: dict[str, Any], extra: dict[str, Any]) -> bool:
    """Whether a run never started (a scheduled run whose file was broken or missing). Older
    rows lack ``not_started``: a failed journal with problems and no activity run is one too."""
    why = extra.get("not_started")
    if isinstance(why, str) and why:
        return True
    return bool(
        journal.get("status") == "failed" and journal.get("problems") and not journal.get("run")
    )


def _toxic_line(toxic: dict[str, Any], proxy: str) -> str:
    found = toxic.get("attributes")
    attrs = (
        {k: v for k, v in (found or {}).items() if v not in ("", None)}
        if isinstance(found, dict)
        else {}
    )
    shown = " {" + ", ".join(f"{k}: {v}" for k, v in attrs.items()) + "}" if attrs else ""
    return f"{toxic.get('type')}{shown} on proxy {proxy}"


def _describe_toxic(config: Any, service: str, toxic: dict[str, Any]) -> str | None:
    """A run's toxic, said with where it stands for ``service``; None when its proxy (a
    shield.yaml proxy of that name) is neither on the service's path nor in front of one of its
    dependencies."""
    proxy = str(toxic.get("proxy") or "?")
    line = _toxic_line(toxic, proxy)
    dependency = _dependency_behind(config, service, proxy)
    if dependency:
        return f"{line} in front of {service}'s dependency {dependency}"
    spec = next((p for p in getattr(config.chaos, "proxies", []) if p.name == proxy), None)
    if spec is not None and _on_the_path(config, service, spec.listen):
        return f"{line} on {service}'s path"
    return None


def _dependency_behind(
    config: Any, service: str, proxy: str, addresses: Sequence[str] | None = None
) -> str | None:
    """The dependency of ``service`` (a check in its checks' ``depends_on``) that the proxy
    ``proxy`` stands in front of: the same name, or the check's target names one of the proxy's
    ``addresses`` (listen, upstream; by default those of the shield.yaml proxy of that name)."""
    if addresses is None:
        spec = next((p for p in getattr(config.chaos, "proxies", []) if p.name == proxy), None)
        addresses = [spec.upstream, spec.listen] if spec is not None else []
    checks = {c.name: c for c in getattr(config, "checks", [])}
    deps: list[str] = []
    for c in checks.values():
        if (getattr(c, "service", None) or c.name) == service:
            deps += [d for d in getattr(c, "depends_on", []) if d not in deps]
    for dep in deps:
        if dep == proxy:
            return dep
        target = checks.get(dep)
        if target is None or not addresses:
            continue
        if any(_names_address(target, a) for a in addresses):
            return dep
    return None


def _names_address(check: Any, address: str) -> bool:
    """Whether ``check``'s settings name ``address`` (``host:port``): in its URL or DSN, or as
    its ``host`` and ``port`` (a tcp, tls or redis check); ``127.0.0.1:2990`` is not named by a
    URL on port 29900."""
    if not address:
        return False
    data = check.model_dump(mode="json")
    text = json.dumps(data, default=str)
    if isinstance(data, dict) and data.get("host") and data.get("port"):
        text += f" {data['host']}:{data['port']}"
    return re.search(re.escape(address) + r"(?!\d)", text) is not None


def _on_the_path(config: Any, service: str, listen: str) -> bool:
    """Whether one of ``service``'s own checks goes through the proxy listening on ``listen``
    (its target names that address). A proxy named like the service is not enough: a check that
    reaches the upstream directly never meets the proxy's toxics."""
    return any(
        (getattr(c, "service", None) or c.name) == service and _names_address(c, listen)
        for c in getattr(config, "checks", [])
    )


PROXY_STALE_S = 90.0
"""A proxy's recorded toxics older than this are from a proxy that stopped (it records every 30 s)."""


def _active_toxics(
    conn: Connection, config: Any, service: str, now: float, detected_at: float
) -> list[Item]:
    """Toxics active now on a proxy (``chaos proxy`` with a shield.yaml records them in ``kv``)
    that stands on the service's path or in front of one of its dependencies, added by the time
    the incident was detected (one added later did not cause it). Said as a toxic, not an
    experiment: whoever added it (API, toxiproxy-cli, ``chaos toxic add``) ran none."""
    kv = t.kv
    rows = conn.execute(
        select(kv.c.value).where(kv.c.namespace == "chaos", kv.c.key.like("proxies@%")).limit(20)
    ).all()
    out: list[Item] = []
    for (value,) in rows:
        if not isinstance(value, dict) or float(value.get("seen_at") or 0) < now - PROXY_STALE_S:
            continue
        for proxy in value.get("proxies") or []:
            if not isinstance(proxy, dict) or not proxy.get("enabled", True):
                continue
            name, listen = str(proxy.get("name") or ""), str(proxy.get("listen") or "")
            upstream = str(proxy.get("upstream") or "")
            dependency = _dependency_behind(config, service, name, [listen, upstream])
            if dependency is None and not _on_the_path(config, service, listen):
                continue
            where = (
                f" in front of {service}'s dependency {dependency}"
                if dependency
                else f" on {service}'s path"
            )
            for toxic in proxy.get("toxics") or []:
                if not isinstance(toxic, dict):
                    continue
                since = float(toxic.get("since") or value.get("seen_at") or now)
                if since > detected_at:
                    continue  # added after the failures that opened the incident
                out.append(
                    Item(
                        "chaos",
                        f"toxic:{name}:{toxic.get('name')}:{since}",
                        since,
                        f"toxic {_toxic_line(toxic, name)}{where} active since {_iso(since)}"
                        + (
                            f" (toxicity {toxic.get('toxicity')})"
                            if toxic.get("toxicity") != 1
                            else ""
                        ),
                        {"proxy": name, "toxic": str(toxic.get("name")), "dependency": dependency},
                    )
                )
                if len(out) >= 5:
                    return out
    return out


# --- storing and reading ---------------------------------------------------------------------


def record(conn: Connection, incident_id: int, items: Sequence[Item], now: float) -> list[Item]:
    """Store the items not yet on the incident (by kind and key); return those that were new. A
    chaos run already on it is brought up to date (``was running`` becomes ``ran (aborted)``)."""
    e = t.incident_evidence
    have: dict[tuple[str, str], Any] = {
        (r.kind, r.key): r
        for r in conn.execute(
            select(e.c.id, e.c.kind, e.c.key, e.c.summary, e.c.details).where(
                e.c.incident_id == incident_id
            )
        )
    }
    room = MAX_ITEMS - len(have)
    new: list[Item] = []
    for item in items:
        old = have.get((item.kind, item.key))
        if old is not None:
            if item.kind == "chaos" and (old.summary, old.details) != (item.summary, item.details):
                conn.execute(
                    e.update()
                    .where(e.c.id == old.id)
                    .values(summary=item.summary, details=item.details)
                )
            continue
        if room <= 0:
            continue
        have[(item.kind, item.key)] = item
        new.append(item)
        room -= 1
    if new:
        conn.execute(
            e.insert(),
            [
                {
                    "incident_id": incident_id,
                    "kind": i.kind,
                    "key": i.key,
                    "at": i.at,
                    "summary": i.summary,
                    "details": i.details,
                    "created_at": now,
                }
                for i in new
            ],
        )
    return new


def of_incident(conn: Connection, incident_id: int) -> list[Item]:
    """The incident's evidence, in time order; a chaos run stored while it ran and ended since
    (the incident resolved first, or no result came after) reads as ended (:func:`_ended`)."""
    e = t.incident_evidence
    rows = conn.execute(
        select(e).where(e.c.incident_id == incident_id).order_by(e.c.at, e.c.id)
    ).all()
    items = [Item(r.kind, r.key, float(r.at), r.summary, dict(r.details or {})) for r in rows]
    return [_ended(conn, i) for i in items]


def _ended(conn: Connection, item: Item) -> Item:
    """A chaos run's evidence as it stands now: stored as running, its run ended since."""
    run = item.details.get("run")
    if item.kind != "chaos" or not item.details.get("running") or not isinstance(run, int):
        return item
    j = t.experiment_journals
    row = conn.execute(
        select(j.c.title, j.c.status, j.c.started_at, j.c.ended_at, j.c.deviated).where(
            j.c.id == run
        )
    ).first()
    if row is None or (row.ended_at is None and row.status == "running"):
        return item
    details = {
        **item.details,
        "status": row.status,
        "running": False,
        "deviated": bool(row.deviated),
    }
    summary = run_summary(row.title, details, row.started_at, row.ended_at)
    return Item(item.kind, item.key, item.at, summary, details).sealed_text()


def kinds_of(conn: Connection, incident_id: int) -> set[str]:
    e = t.incident_evidence
    return {
        k for (k,) in conn.execute(select(e.c.kind).where(and_(e.c.incident_id == incident_id)))
    }


def markdown(items: Sequence[Item], *, heading: str = "### Evidence") -> str:
    """The evidence as a Markdown list: each summary is outside text, shown as inline code."""
    from prodshield.text import code_span

    if not items:
        return ""
    lines = [heading, ""]
    for i in items:
        lines.append(f"- {_iso(i.at)}: **{title_of(i)}**: {code_span(i.summary)}")
    return "\n".join(lines)
