"""The ``config`` family: insecure settings found by parsing configuration files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc, classify, parse_document
from prodshield.audit.finding import AuditFinding
from prodshield.audit.rules.base import Rule
from prodshield.audit.rules.config import (
    compose,
    databases,
    dockerfile,
    kubernetes,
    nginx,
    python,
    settings,
    workflows,
)

RULES: tuple[Rule[Any], ...] = (
    *python.RULES,
    *settings.RULES,
    *nginx.RULES,
    *dockerfile.RULES,
    *compose.RULES,
    *kubernetes.RULES,
    *databases.RULES,
    *workflows.RULES,
)


def documents(ctx: AuditContext) -> Iterator[ConfigDoc]:
    """Parsed config documents under the audited paths, one at a time.

    A document (its text, parsed data, Python syntax tree) is dropped once its rules ran: none
    is kept for the run, so memory follows the largest file, not the tree."""
    for path in ctx.files():
        if classify(path) is None:
            continue
        text = ctx.read_text(path)
        if text is None:
            continue
        doc = parse_document(path, text)
        if doc is None:
            continue
        if doc.error:
            ctx.skipped.append(f"{ctx.relpath(path)}: {doc.error}")
        yield doc


class ConfigFamily:
    name = "config"
    rules = RULES

    def run(self, ctx: AuditContext, rules: tuple[Rule[Any], ...]) -> Iterator[AuditFinding]:
        for doc in documents(ctx):
            for rule in rules:
                if doc.kind not in getattr(rule, "kinds", ()):
                    continue
                for hit in ctx.hits(rule, doc, doc.path):
                    yield ctx.finding(
                        rule,
                        hit.message,
                        path=doc.path,
                        line=hit.line,
                        key=hit.key,
                        fix=hit.fix,
                        severity=hit.severity,
                    )


FAMILY = ConfigFamily()
