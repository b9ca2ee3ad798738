"""Stored audit runs compared like with like: what each run looked at, and which run it is
compared with, family by family.

A run stores, in its summary, the families it checked and per family a scope key
(``summary["scope"]``: family -> a digest of what that family looked at: the audited paths and
exclusions, the TLS endpoints, whether environments were read). A run's findings of family F are
compared with the latest earlier run that checked F under the same key; a family the run did not
check (``--only``), or checked elsewhere (other paths, other endpoints), is neither new nor fixed:
a ``--only permissions`` run is the base of the permission findings only, and the next full run
compares its secrets with the last run that looked for secrets. ``audit history`` and the
incident evidence (``evidence.py``) both compare through :func:`bases` and :func:`compare`.
Runs stored before scopes carry their ``families`` only (any key matches); older ones, every
family.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ALL_FAMILIES = ("permissions", "config", "secrets", "environment", "tls")
"""The audit's families (``audit.scan.FAMILY_ORDER``; the store imports no capability)."""

Run = Mapping[str, Any]
Scope = dict[str, str | None]


def nothing_checked(run: Run) -> bool:
    """A run that checked nothing (stored with a null verdict; before that, with ``passed``
    true and its summary saying so)."""
    summary = run.get("summary") or {}
    return run.get("passed") is None or bool(summary.get("nothing_checked"))


def scope(run: Run) -> Scope:
    """Family -> scope key for each family ``run`` checked (None: any key, a run stored before
    scopes); empty for a run that checked nothing."""
    if nothing_checked(run):
        return {}
    summary = run.get("summary") or {}
    keys = summary.get("scope")
    if isinstance(keys, dict):
        return {str(k): None if v is None else str(v) for k, v in keys.items()}
    families = summary.get("families")
    if isinstance(families, list):
        return {str(f): None for f in families}
    return dict.fromkeys(ALL_FAMILIES)


def partial(run: Run) -> bool:
    """The run checked only some families (``--only``)."""
    checked = scope(run)
    return bool(checked) and set(checked) != set(ALL_FAMILIES)


def bases(run: Run, earlier: Sequence[Run]) -> dict[str, int | None]:
    """For each family ``run`` checked: the id of the latest run of ``earlier`` (newest first)
    that checked it under the same scope, or None when none did."""
    out: dict[str, int | None] = {}
    scopes = [(int(e["id"]), scope(e)) for e in earlier]
    for family, key in scope(run).items():
        out[family] = next(
            (
                run_id
                for run_id, theirs in scopes
                if family in theirs and (key is None or theirs[family] in (None, key))
            ),
            None,
        )
    return out


def compare(
    now: Iterable[Mapping[str, Any]],
    based: Mapping[str, int | None],
    findings_of: Mapping[int, Sequence[Mapping[str, Any]]],
    *,
    unbased_new: bool = False,
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(new, fixed) by fingerprint, family by family: a finding of family F is new when F's base
    run did not have it; a finding of F's base is fixed when this run does not have it. A family
    with no base is not compared (``unbased_new``: its findings are all new); a family the run
    did not check is never compared. One entry per fingerprint."""
    current = list(now)
    here = {str(f["fingerprint"]) for f in current}
    before = {run_id: {str(f["fingerprint"]) for f in rows} for run_id, rows in findings_of.items()}
    new: dict[str, Mapping[str, Any]] = {}
    for f in current:
        family = str(f["family"])
        if family not in based:
            continue
        base = based[family]
        if base is None:
            if unbased_new:
                new.setdefault(str(f["fingerprint"]), f)
        elif str(f["fingerprint"]) not in before.get(base, set()):
            new.setdefault(str(f["fingerprint"]), f)
    fixed: dict[str, Mapping[str, Any]] = {}
    for family, base in based.items():
        if base is None:
            continue
        for f in findings_of.get(base, ()):
            fp = str(f["fingerprint"])
            if str(f["family"]) == family and fp not in here:
                fixed.setdefault(fp, f)
    return list(new.values()), list(fixed.values())
