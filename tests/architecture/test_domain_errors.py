"""Library code raises domain errors, not the CLI's usage error (docs/architecture.md, errors.py).

``UsageError`` says "the CLI was asked something impossible"; a capability or the shared lower
layer says what is wrong in the domain's words (``NotFound``, ``Conflict``, ``Invalid``), and the
CLI and the web map those at their edge (exit 2; 404 / 409 / 400). Read with `ast`: a module
outside ``cli/`` that names ``UsageError`` fails, unless it is listed below with why; the list
fails too when a listed module no longer names it, so it only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "prodshield"

# Modules allowed to name UsageError outside cli/ (none now: every capability raises domain errors).
ALLOWED_USAGE_ERROR: set[str] = set()


def _names_usage_error(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "UsageError":
            return True
        if isinstance(node, ast.alias) and node.name == "UsageError":
            return True
    return False


def test_library_code_raises_domain_errors_not_usage_errors() -> None:
    found = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] not in ("cli",)
        and path.name != "errors.py"
        and _names_usage_error(path)
    }
    assert found - ALLOWED_USAGE_ERROR == set(), "raise NotFound / Conflict / Invalid instead"
    assert ALLOWED_USAGE_ERROR - found == set(), "fixed: take it off ALLOWED_USAGE_ERROR"
