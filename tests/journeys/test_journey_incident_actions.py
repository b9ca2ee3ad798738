"""Journey: acknowledge, note and resolve have one owner, so the CLI, the API and the dashboard
agree on what an action on a resolved incident does.

An operator resolves incidents, then someone acknowledges them late: through `serve`'s API with
the token, through the dashboard's form with a session, and with `incident ack`. None of the three
records an acknowledgement on a resolved incident (its escalation is over); a note sent with it is
kept. An open incident is still acknowledged by each, and a dead-letter retry of a row that is not
dead is refused (409) instead of pretending.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from support.alerting import TOKEN, Browser, api, cli, csrf_of, serving, wait


def _open(cwd: Path, title: str) -> str:
    done = cli(cwd, "incident", "open", title, "--service", "mail")
    assert done.returncode == 0, done.stderr
    return done.stdout.split("#")[1].split()[0]


def _incident(port: int, incident_id: str) -> Any:
    status, body = api(port, f"/api/v1/incidents/{incident_id}")
    assert status == 200, body
    return body


def test_ack_of_a_resolved_incident_records_nothing_anywhere(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        f'storage: sqlite:///store.db\nserve: {{port: 0, token: "{TOKEN}"}}\nchecks: []\n'
    )
    by_api, by_form, by_cli, still_open = (
        _open(tmp_path, title) for title in ("Mail A", "Mail B", "Mail C", "Mail D")
    )
    for incident_id in (by_api, by_form, by_cli):
        done = cli(tmp_path, "incident", "resolve", incident_id)
        assert done.stdout.strip() == f"incident #{incident_id} resolved", done.stderr

    late = cli(tmp_path, "incident", "ack", by_cli, "--by", "carol", "--note", "saw it late")
    assert late.returncode == 0, late.stderr
    assert late.stdout.strip() == f"incident #{by_cli} is already resolved; note added"
    missing = cli(tmp_path, "incident", "ack", "999")
    assert missing.returncode == 2 and "no incident 999" in missing.stderr

    with serving(tmp_path) as serve:
        port = serve.port
        wait(lambda: api(port, "/api/v1/incidents")[0] == 200, "serve to answer")

        status, body = api(port, f"/api/v1/incidents/{by_api}/ack", {"note": "on it (late)"})
        assert status == 200, body
        # the API says the acknowledge changed nothing (the note was still kept)
        assert body["changed"] is False
        assert body["message"] == f"incident #{by_api} is already resolved; note added"
        assert body["status"] == "resolved"
        assert body["acknowledged_at"] is None and body["acknowledged_by"] is None
        assert [n["text"] for n in body["notes"]] == ["on it (late)"]
        assert api(port, "/api/v1/incidents/999/ack", {})[0] == 404

        browser = Browser(port)
        browser.login()
        csrf = csrf_of(browser.get("/dashboard/incidents"))
        # the dashboard says it changed nothing: a "Nothing to do" page (409) with a way back
        code, page = browser.post(f"/dashboard/incidents/{by_form}/ack", {"csrf": csrf})
        assert code == 409
        assert _error_page(page) == (
            "Nothing to do", f"incident #{by_form} is already resolved", "/dashboard/incidents"
        )  # fmt: skip
        form_ack = _incident(port, by_form)
        assert form_ack["acknowledged_at"] is None and form_ack["acknowledged_by"] is None

        cli_ack = _incident(port, by_cli)
        assert cli_ack["acknowledged_at"] is None
        assert [n["text"] for n in cli_ack["notes"]] == ["saw it late"]

        # an open incident is acknowledged by each path, and the first acknowledgement is kept
        code, _ = browser.post(f"/dashboard/incidents/{still_open}/ack", {"csrf": csrf})
        assert code == 200  # the redirect back to the incidents, followed
        assert _incident(port, still_open)["acknowledged_by"] == "operator"
        code, page = browser.post(f"/dashboard/incidents/{still_open}/ack", {"csrf": csrf})
        assert code == 409 and (_error_page(page) or ("", ""))[1] == (
            f"incident #{still_open} was already acknowledged by operator"
        )
        status, body = api(port, f"/api/v1/incidents/{still_open}/ack", {"by": "bob"})
        assert status == 200 and body["acknowledged_by"] == "operator"
        assert body["changed"] is False
        assert body["message"] == f"incident #{still_open} was already acknowledged by operator"
        again = cli(tmp_path, "incident", "ack", still_open, "--by", "dave")
        assert again.stdout.strip() == (
            f"incident #{still_open} was already acknowledged by operator"
        )

        # resolving twice through the API keeps the first resolution
        first = _incident(port, by_api)["resolved_at"]
        status, body = api(port, f"/api/v1/incidents/{by_api}/resolve", {})
        assert status == 200 and body["resolved_at"] == first
        assert body["changed"] is False
        assert body["message"] == f"incident #{by_api} is already resolved"

        assert api(port, "/api/v1/outbox/999/retry", {})[0] == 404


def _error_page(page: str) -> tuple[str, str, str] | None:
    """(heading, message, back link) of a dashboard error page, or None."""
    m = re.search(
        r'<section class="card action-error"[^>]*>\s*<h1>([^<]*)</h1>\s*'
        r'<p class="flash error" role="alert">([^<]*)</p>\s*<p><a class="back" href="([^"]*)"',
        page,
    )
    return None if m is None else (m.group(1), html.unescape(m.group(2)), m.group(3))


def test_dashboard_action_errors_are_pages_with_a_way_back(tmp_path: Path) -> None:
    """A refused dashboard action answers with its status code and a page in the dashboard's
    layout (its tabs), saying what went wrong, with a link back; without a session, a link to
    sign in. CSRF and the session are still required."""
    (tmp_path / "shield.yaml").write_text(
        f'storage: sqlite:///store.db\nserve: {{port: 0, token: "{TOKEN}"}}\nchecks: []\n'
    )
    incident_id = _open(tmp_path, "Mail A")
    with serving(tmp_path) as serve:
        port = serve.port
        wait(lambda: api(port, "/api/v1/incidents")[0] == 200, "serve to answer")
        stranger = Browser(port)
        code, page = stranger.post(f"/dashboard/incidents/{incident_id}/ack", {"csrf": "x"})
        assert code == 401
        assert _error_page(page) == (
            "Sign in first",
            "Your session ended: sign in again.",
            "/login?next=/dashboard/incidents",
        )
        assert 'class="tabs"' not in page

        browser = Browser(port)
        browser.login()
        csrf = csrf_of(browser.get("/dashboard/incidents"))
        back = f"/dashboard/incidents/{incident_id}"
        code, page = browser.post(
            f"/dashboard/incidents/{incident_id}/ack", {"csrf": "forged", "back": back}
        )
        assert code == 403 and 'class="tabs"' in page and "Sign out" in page
        heading, message, link = _error_page(page) or ("", "", "")
        assert heading == "The form expired" and "invalid CSRF token" in message
        assert link == back
        assert _incident(port, incident_id)["acknowledged_by"] is None  # refused, not done

        code, page = browser.post(
            f"/dashboard/incidents/{incident_id}/note", {"csrf": csrf, "back": back}
        )
        assert code == 400
        assert _error_page(page) == ("That did not work", "a note needs text", back)
        code, page = browser.post("/dashboard/incidents/999/resolve", {"csrf": csrf})
        assert code == 404
        assert _error_page(page) == ("Not found", "no incident 999", "/dashboard/incidents")
        code, page = browser.post(
            f"/dashboard/incidents/{incident_id}/silence", {"csrf": csrf, "for": "soon"}
        )
        assert code == 400 and (_error_page(page) or ("",))[0] == "That did not work"
        code, page = browser.post("/dashboard/outbox/999/retry", {"csrf": csrf})
        assert code == 404
        assert _error_page(page) == (
            "Not found", "no dead-lettered notification 999", "/dashboard/notifications"
        )  # fmt: skip
        # a hostile back link is not followed: the way back stays on the dashboard
        code, page = browser.post(
            "/dashboard/incidents/999/ack", {"csrf": csrf, "back": "//evil.example/"}
        )
        assert code == 404 and (_error_page(page) or ("", "", ""))[2] == "/dashboard/incidents"
