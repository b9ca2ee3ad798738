"""Report writers: table, JSON, Markdown and SARIF 2.1.0 (the SARIF writer is generic, for audit too).

Every writer works from `SecretFinding`s, which hold only redacted values, so no output can carry
a whole secret.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text

from prodshield import __version__
from prodshield.secrets.finding import SEVERITIES, SEVERITY_RANK, Place, SecretFinding, shown_path
from prodshield.tables import Grid
from prodshield.text import controls_out, dumps_json, one_line, unpaired_out, uri_path

FORMATS = ("table", "json", "sarif", "markdown")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def sort_findings(findings: Iterable[SecretFinding]) -> list[SecretFinding]:
    return sorted(
        findings,
        key=lambda f: (-SEVERITY_RANK[f.severity], f.path or "", f.line, f.column, f.rule),
    )


def to_json(findings: Sequence[SecretFinding], *, stats: Mapping[str, int] | None = None) -> str:
    """``{"version": 1, "summary": {...}, "findings": [...]}`` (documented in docs/secrets.md)."""
    document = {
        "version": 1,
        "tool": {"name": "prodshield", "version": __version__},
        "summary": summary(findings),
        "stats": dict(stats or {}),
        "findings": [f.to_dict() for f in findings],
    }
    return dumps_json(document)


def summary(findings: Sequence[SecretFinding]) -> dict[str, Any]:
    by_severity = Counter(f.severity for f in findings)
    return {
        "total": len(findings),
        "by_severity": {s: by_severity.get(s, 0) for s in reversed(SEVERITIES)},
        "by_kind": dict(Counter(f.kind for f in findings).most_common()),
    }


def _where(f: SecretFinding) -> str:
    if len(f.places) > 1:
        # each place says what it is (as JSON's `kind`): a file and a log can be the same path
        return "; ".join(_place_words(p) for p in f.places)
    if f.places:
        return f.places[0].describe()
    where = f"{shown_path(f.path) or '<stdin>'}:{f.line}:{f.column}"
    return f"{where} @{f.commit[:10]}" if f.commit else where


def _place_words(place: Place) -> str:
    """``file aws.log:1``, ``log aws.log:1``, ``git app.py:3 @1a2b3c4d5e``, ``pid 4242 env X``."""
    said = place.describe()
    return said if place.kind == "process" else f"{place.kind} {said}"


def _verdict(f: SecretFinding) -> str:
    v = f.verification
    return f"{v.status.upper() if v.status == 'live' else v.status} ({v.reason})" if v else ""


SUPPRESSED = (
    ("allowed_inline", "inline allow comment", "inline allow comments"),
    ("baseline_suppressed", "the baseline", "the baseline"),
    ("allowed_config", "shield.yaml's allow-lists", "shield.yaml's allow-lists"),
)
"""The ``stats`` counters of findings found but not reported, and what suppressed them."""


def suppressed(stats: Mapping[str, int] | None) -> str:
    """``3 suppressed (2 by inline allow comments, 1 by the baseline)``; '' when none were."""
    counts = [(int((stats or {}).get(key, 0)), one, many) for key, one, many in SUPPRESSED]
    total = sum(n for n, _, _ in counts)
    if not total:
        return ""
    why = ", ".join(f"{n} by {one if n == 1 else many}" for n, one, many in counts if n)
    return f"{total} suppressed ({why})"


def render_table(
    findings: Sequence[SecretFinding],
    console: Console,
    *,
    stats: Mapping[str, int] | None = None,
) -> None:
    hidden = suppressed(stats)
    if not findings:
        console.print(f"No secrets reported: {hidden}." if hidden else "No secrets found.")
        return
    verified = any(f.verification for f in findings)
    columns = ["severity", "rule", "location", "value", "confidence"]
    # 80 columns: the rule id (the JSON ``rule``), severity and redacted value stay whole, the
    # confidence is the first column left out, and places and verdict that would be cut go on
    # lines of their own under their finding
    table = Grid(
        *columns,
        *(["verified"] if verified else []),
        keys=("severity", "rule", "value"),
        right=("confidence",),
        optional=("confidence",),
        fold=("location", "verified"),
        out=console,
    )
    for f in findings:
        cells = [f.severity, f.rule, _where(f), f.redacted, f"{f.confidence:.2f}"]
        table.add_row(*(Text(one_line(c)) for c in cells + ([_verdict(f)] if verified else [])))
    table.print()
    counts = summary(findings)["by_severity"]
    console.print(
        ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        + f" ({len(findings)} total)"
        + (f"; {hidden}" if hidden else "")
    )


def _md_escape(text: str) -> str:
    """Outside text (a file's name) for a code span in a table cell: control characters and
    bidirectional overrides as their marks and a byte that is not UTF-8 as U+FFFD
    (`controls_out`, `unpaired_out`, as every other report shows them), on one line."""
    shown = controls_out(unpaired_out(text)).replace("\r", "\u240d")
    return shown.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def to_markdown(
    findings: Sequence[SecretFinding], *, stats: Mapping[str, int] | None = None
) -> str:
    lines = ["# Secret scan", ""]
    hidden = suppressed(stats)
    if not findings:
        said = f"No secrets reported: {hidden}." if hidden else "No secrets found."
        return "\n".join([*lines, said, ""])
    counts = summary(findings)["by_severity"]
    lines.append(
        ", ".join(f"**{n}** {s}" for s, n in counts.items() if n)
        + f" — {len(findings)} total"
        + (f"; {hidden}" if hidden else "")
    )
    verified = any(f.verification for f in findings)
    lines += [
        "",
        "| severity | kind | location | value | rule |" + (" verified |" if verified else ""),
        "| --- | --- | --- | --- | --- |" + (" --- |" if verified else ""),
    ]
    for f in findings:
        where = "<br>".join(f"`{_md_escape(p.describe())}` ({p.kind})" for p in f.places)
        lines.append(
            f"| {f.severity} | {f.kind} | {where or '`' + _md_escape(_where(f)) + '`'} "
            f"| `{_md_escape(f.redacted)}` | {f.rule} |"
            + (f" {_md_escape(_verdict(f))} |" if verified else "")
        )
    lines.append("")
    return "\n".join(lines)


# -- SARIF -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SarifRule:
    id: str
    description: str
    severity: str = "high"
    tags: tuple[str, ...] = ("security",)


@dataclass(frozen=True)
class SarifResult:
    """One result for `sarif_log`: any capability (secrets, audit rules) can produce these."""

    rule_id: str
    severity: str
    message: str
    path: str | None
    line: int = 1
    column: int = 1
    fingerprint: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


def sarif_log(
    results: Iterable[SarifResult], rules: Iterable[SarifRule], *, tool: str = "prodshield"
) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run (GitHub code scanning reads ``security-severity``)."""
    rule_list = list({r.id: r for r in rules}.values())
    index = {r.id: i for i, r in enumerate(rule_list)}
    out_results: list[dict[str, Any]] = []
    for res in results:
        result: dict[str, Any] = {
            "ruleId": res.rule_id,
            "level": _LEVEL.get(res.severity, "warning"),
            "message": {"text": res.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(res.path)},
                        "region": {
                            "startLine": max(1, res.line),
                            "startColumn": max(1, res.column),
                        },
                    }
                }
            ],
        }
        if res.rule_id in index:
            result["ruleIndex"] = index[res.rule_id]
        if res.fingerprint:
            result["partialFingerprints"] = {"prodshield/v1": res.fingerprint}
        if res.properties:
            result["properties"] = dict(res.properties)
        out_results.append(result)
    driver = {
        "name": tool,
        "version": __version__,
        "informationUri": "https://github.com/prodshield/prodshield",
        "rules": [
            {
                "id": r.id,
                "name": "".join(part.capitalize() for part in r.id.replace("_", "-").split("-")),
                "shortDescription": {"text": r.description},
                "defaultConfiguration": {"level": _LEVEL.get(r.severity, "warning")},
                "properties": {
                    "security-severity": _SECURITY_SEVERITY.get(r.severity, "5.0"),
                    "tags": list(r.tags),
                },
            }
            for r in rule_list
        ],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": out_results}],
    }


def _uri(path: str | None) -> str:
    if not path or path == "-":
        return "stdin"
    return uri_path(str(shown_path(path.replace("\\", "/"))))


def to_sarif(findings: Sequence[SecretFinding]) -> str:
    from prodshield.secrets.rules import REGISTRY

    rules = [
        SarifRule(
            f.rule,
            REGISTRY[f.rule].description if f.rule in REGISTRY else f.kind,
            f.severity,
            ("security", "secret"),
        )
        for f in findings
    ]
    results = [
        SarifResult(
            rule_id=f.rule,
            severity=f.severity,
            message=f"{f.kind} leaked: {f.redacted}"
            + (f" (commit {f.commit[:12]})" if f.commit else "")
            + (f"; {_verdict(f)}" if f.verification else "")
            + (f"; found in {len(f.places)} places: {_where(f)}" if len(f.places) > 1 else ""),
            path=f.path,
            line=f.line,
            column=f.column,
            fingerprint=f.fingerprint,
            properties={"kind": f.kind, "confidence": f.confidence, "redacted": f.redacted}
            | ({"commit": f.commit, "author": f.author} if f.commit else {})
            | ({"verification": f.verification.to_dict()} if f.verification else {})
            | ({"places": [p.to_dict() for p in f.places]} if f.places else {}),
        )
        for f in findings
    ]
    return json.dumps(unpaired_out(sarif_log(results, rules)), indent=2)


def render(
    findings: Sequence[SecretFinding],
    fmt: str,
    console: Console,
    *,
    stats: Mapping[str, int] | None = None,
) -> None:
    """Write the findings in one of FORMATS to the console's stream."""
    if fmt == "table":
        render_table(findings, console, stats=stats)
        return
    text = {"json": lambda: to_json(findings, stats=stats), "sarif": lambda: to_sarif(findings),
            "markdown": lambda: to_markdown(findings, stats=stats)}[fmt]()  # fmt: skip
    console.file.write(text + ("" if text.endswith("\n") else "\n"))
