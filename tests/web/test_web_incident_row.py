"""The dashboard's incident row says what it knows without stray separators (newcomer trial:
the details column read "· resolved by checks")."""

from __future__ import annotations

import re
from typing import Any

from prodshield.web.context import make_templates


def _details(**incident: Any) -> str:
    row = {
        "id": 7,
        "check": "orders",
        "environment": "production",
        "status": "resolved",
        "kind": "down",
        "opened_at": 1_765_000_000.0,
        "duration_s": 80.0,
        "notes": [],
        **incident,
    }
    html = make_templates().get_template("_incident_row.html").render(i=row, csrf="x")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cells[-2])).strip()


def test_details_join_only_what_is_known() -> None:
    assert _details(last_error_kind=None, resolved_by="checks") == "resolved by checks"
    assert _details(last_error_kind="refused", resolved_by="checks") == (
        "refused · resolved by checks"
    )
    assert _details(last_error_kind="timeout", resolved_by=None) == "timeout"


def test_a_condition_incident_names_the_conditions_that_failed() -> None:
    """Newcomer trial: an open incident's details said only "condition", not which one."""
    details = _details(
        status="open",
        last_error_kind="condition",
        failing_conditions=["[RESPONSE_TIME] (370 ms) < 200", "[STATUS] (503) == 200"],
    )
    assert details == "failed [RESPONSE_TIME] (370 ms) &lt; 200; [STATUS] (503) == 200"
    # other kinds, and a condition incident stored before its conditions were, are unchanged
    assert _details(last_error_kind="condition", failing_conditions=None) == "condition"
    assert _details(last_error_kind="timeout", failing_conditions=["x"]) == "timeout"
