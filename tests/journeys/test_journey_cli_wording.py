"""Journey: the incident CLI says what is true when an action changes nothing.

A second `incident resolve`, an `incident ack` on a resolved incident and a second
`incident unsilence` exit 0 (idempotent) but say "already", never that they did it again.
"""

from __future__ import annotations

from pathlib import Path

from support.alerting import cli


def test_repeated_incident_actions_say_already(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\nchecks: []\n")
    opened = cli(tmp_path, "incident", "open", "Mail is slow", "--service", "mail")
    assert opened.returncode == 0, opened.stderr
    incident_id = opened.stdout.split("#")[1].split()[0]

    first_ack = cli(tmp_path, "incident", "ack", incident_id, "--by", "alice")
    assert first_ack.stdout.strip() == f"incident #{incident_id} acknowledged by alice"
    again_ack = cli(tmp_path, "incident", "ack", incident_id, "--by", "bob")
    assert again_ack.returncode == 0, again_ack.stderr
    assert again_ack.stdout.strip() == f"incident #{incident_id} was already acknowledged by alice"

    first = cli(tmp_path, "incident", "resolve", incident_id)
    assert first.returncode == 0 and first.stdout.strip() == f"incident #{incident_id} resolved"
    second = cli(tmp_path, "incident", "resolve", incident_id)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"incident #{incident_id} is already resolved"

    late_ack = cli(tmp_path, "incident", "ack", incident_id)
    assert late_ack.returncode == 0, late_ack.stderr
    assert late_ack.stdout.strip() == f"incident #{incident_id} is already resolved"
    assert "acknowledged" not in late_ack.stdout

    missing = cli(tmp_path, "incident", "resolve", "999")
    assert missing.returncode == 2 and "no incident 999" in missing.stderr

    made = cli(tmp_path, "incident", "silence", "all", "--for", "1h", "--reason", "maintenance")
    assert made.returncode == 0, made.stderr
    silence_id = made.stdout.split("#")[1].split(":")[0]
    ended = cli(tmp_path, "incident", "unsilence", silence_id)
    assert ended.returncode == 0 and ended.stdout.strip() == f"silence #{silence_id} ended"
    again = cli(tmp_path, "incident", "unsilence", silence_id)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"silence #{silence_id} already ended"
