"""Journey: an operator adds their own secret format to shield.yaml (``audit.secrets.rules``) and
from then on prodshield masks it wherever it shows outside text: log findings' samples, mined
template examples and notifications, as it masks the shipped formats."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prodshield.config import load_config
from prodshield.notify.event import Event
from prodshield.secrets.redaction import redact_text, use_rules
from support import secrets_tokens as tok

RULES = """\
audit:
  secrets:
    rules:
      - id: acme-api-key
        pattern: "acme_[a-z0-9]{32}"
        min_entropy: 3.0
        severity: critical
"""
TRACE = """\
2026-12-04 10:00:00,000 ERROR app: partner request failed
Traceback (most recent call last):
  File "/app/partner.py", line 12, in call
    raise PartnerError(key)
PartnerError: rejected {token}
"""


def _token() -> str:
    return "acme_" + tok.rand(32, "abcdefghijklmnopqrstuvwxyz0123456789")


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_custom_rule_masks_log_samples_and_template_examples(tmp_path: Path) -> None:
    token = _token()
    (tmp_path / "app.log").write_text(TRACE.format(token=token))
    (tmp_path / "shield.yaml").write_text("audit: {}\n")
    # Without the rule the exception's sample shows the value whole: nothing knows its format.
    proc = _run(tmp_path, "logs", "scan", "app.log", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    assert token in proc.stdout

    (tmp_path / "shield.yaml").write_text(RULES)
    proc = _run(tmp_path, "logs", "scan", "app.log", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    assert token not in proc.stdout
    findings = json.loads(proc.stdout)["findings"]
    exception = next(f for f in findings if f["kind"] != "secret_in_log")
    # the redacted form, as for shipped formats
    assert any("PartnerError: rejected acme…[" in s for s in exception["samples"]), exception

    # The template miner's examples (stored with --save) go through the same pass.
    (tmp_path / "one.log").write_text(f"2026-12-04 10:00:00 WARN partner sent {token} twice\n")
    proc = _run(tmp_path, "logs", "templates", "one.log", "--save", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert token not in proc.stdout and "partner sent acme" in proc.stdout


@pytest.fixture
def restore_rules() -> Iterator[None]:
    yield
    use_rules(())


def test_loading_the_config_makes_notifications_mask_the_custom_format(
    tmp_path: Path, restore_rules: None
) -> None:
    token = _token()
    assert token in redact_text(f"partner key {token} refused")
    (tmp_path / "shield.yaml").write_text(RULES)
    load_config(tmp_path / "shield.yaml")
    event = Event(
        key="k1", type="log.critical", subject="logs:app", title=f"leak {token}",
        body=f"the partner rejected {token}", fields={"line": f"key={token}"},
    )  # fmt: skip
    assert token not in json.dumps(event.to_dict())
    assert "the partner rejected acme" in event.body
    # A config without rules goes back to the shipped formats only.
    (tmp_path / "shield.yaml").write_text("audit: {}\n")
    load_config(tmp_path / "shield.yaml")
    assert token in redact_text(f"partner key {token} refused")
