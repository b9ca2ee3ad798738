"""Every audit rule: implements the one Rule protocol, has a stable id, and its samples work.

The vulnerable sample must make the rule fire; the fixed sample must leave its whole family
silent. Samples are materialised for real: files with their modes (and owner) in a temporary
folder, TLS profiles served by the loopback bench, environments of a real child process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from prodshield.audit.context import AuditContext, AuditSettings
from prodshield.audit.finding import AuditFinding, Severity
from prodshield.audit.rules import FAMILIES, Rule, Sample, all_rules
from prodshield.audit.tlsbench import TlsBench

RULES = all_rules()


def wait_for_exec(pid: int) -> None:
    """Until the child has exec'd, /proc/<pid>/environ still shows the parent's environment."""
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
    while time.monotonic() < deadline:
        try:
            if b"time.sleep" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise AssertionError("the child process did not start")


def test_registry_has_enough_distinct_rules() -> None:
    ids = [r.type for r in RULES]
    assert len(ids) == len(set(ids)), "rule ids must be unique"
    assert len(ids) >= 56
    for family in ("permissions", "tls", "config", "secrets", "environment"):
        assert family in FAMILIES and FAMILIES[family].rules


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.type)
def test_rule_shape(rule: Rule[Any]) -> None:
    assert isinstance(rule, Rule)
    assert rule.type.startswith(rule.family + "."), "ids are family.name"
    assert rule.type == rule.type.lower() and " " not in rule.type
    assert isinstance(rule.severity, Severity)
    assert rule.title and rule.fix
    assert rule in FAMILIES[rule.family].rules
    assert isinstance(rule.vulnerable, Sample) and isinstance(rule.fixed, Sample)
    assert rule.vulnerable != rule.fixed


def _write(root: Path, sample: Sample) -> None:
    path = root / sample.path
    path.parent.mkdir(parents=True, exist_ok=True)
    if sample.link:  # the file is where the link leads (maybe outside the audited root)
        path.symlink_to(sample.link)
        path = path.parent / sample.link
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sample.text)
    if sample.mode is not None:
        path.chmod(sample.mode)
    else:
        path.chmod(0o644)
    if sample.dir_mode is not None:
        path.parent.chmod(sample.dir_mode)
    if sample.uid is not None:
        os.chown(path, sample.uid, -1)


def run_sample(rule: Rule[Any], sample: Sample, root: Path, bench: TlsBench) -> list[AuditFinding]:
    """Materialise ``sample`` and run the rule's whole family on it."""
    family = FAMILIES[rule.family]
    ctx = AuditContext(paths=[root])
    child = None
    if rule.family == "tls":
        if getattr(rule, "source", "both") == "file":
            bench.write_files(sample.profile, root / "certs")
        else:
            ctx.tls_targets = [bench.endpoint(sample.profile)]
            ctx.ca_file = bench.ca_file
            ctx.settings = AuditSettings(
                revocation=True, revocation_hosts=("127.0.0.1",), timeout=5
            )
    elif rule.family == "environment" and sample.profile == "proc":
        env = {"PATH": os.environ.get("PATH", ""), **sample.env}
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=env)
        wait_for_exec(child.pid)
        ctx.settings = AuditSettings(proc_environ=True, proc_pids=(child.pid,))
    elif rule.family == "environment" and not sample.path:
        ctx.environ = dict(sample.env)
    else:
        if sample.link:  # the audited root is a folder of its own, so a link can leave it
            root = root / "tree"
            ctx.paths = [root]
        _write(root, sample)
    try:
        return list(family.run(ctx, family.rules))
    finally:
        if child is not None:
            child.kill()
            child.wait(timeout=5)


def _needs_root(sample: Sample) -> None:
    if sample.uid is not None and os.geteuid() != 0:
        pytest.skip("chown to another user needs root")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.type)
def test_vulnerable_sample_fires(rule: Rule[Any], tmp_path: Path, bench: TlsBench) -> None:
    _needs_root(rule.vulnerable)
    found = run_sample(rule, rule.vulnerable, tmp_path, bench)
    mine = [f for f in found if f.rule == rule.type]
    assert mine, f"{rule.type} did not fire on its vulnerable sample; got {[f.rule for f in found]}"
    for f in mine:
        assert f.family == rule.family and f.message and f.fix
        assert f.path or f.target or rule.family == "environment"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.type)
def test_fixed_sample_is_silent(rule: Rule[Any], tmp_path: Path, bench: TlsBench) -> None:
    found = run_sample(rule, rule.fixed, tmp_path, bench)
    assert found == [], f"{rule.type}'s fixed sample yields {[(f.rule, f.message) for f in found]}"


def test_every_rule_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()
    missing = [r.type for r in RULES if f"`{r.type}`" not in doc]
    assert not missing, f"add these rules to docs/audit.md: {missing}"
