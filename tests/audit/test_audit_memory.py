"""The audit's memory follows its largest file, not the tree: parsed documents are dropped once
their rules ran, and the texts kept for the other families stay within a fixed budget."""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from pathlib import Path

import pytest

from prodshield.audit import audit
from prodshield.audit import context as audit_context
from prodshield.audit.context import AuditContext
from prodshield.audit.rules.config import documents

MODULE = '''"""A module of a big code base."""
import os

DEBUG = os.environ.get("DEBUG_{n}", "0") == "1"


class Handler{n}:
    def __init__(self, name: str) -> None:
        self.name = name
        self.items = [i * {n} for i in range(10)]

    def run(self, value: int) -> int:
        total = 0
        for i in range(value):
            if i % 3 == 0:
                total += i
            elif i % 5 == 0:
                total -= i
        return total
'''


def _tree(root: Path, files: int, repeat: int) -> int:
    """``files`` Python modules of ``repeat`` classes each (plus a YAML file each); returns the
    tree's size in bytes."""
    size = 0
    for n in range(files):
        d = root / f"pkg{n % 10}"
        d.mkdir(exist_ok=True)
        text = "\n".join(MODULE.format(n=n * 1000 + k) for k in range(repeat))
        (d / f"mod{n}.py").write_text(text)
        yaml = "".join(f"key{k}: value{k}\n" for k in range(repeat * 10))
        (d / f"conf{n}.yaml").write_text(yaml)
        size += len(text) + len(yaml)
    return size


def test_parsed_documents_are_not_kept(tmp_path: Path) -> None:
    _tree(tmp_path, files=12, repeat=3)
    ctx = AuditContext(paths=[tmp_path])
    refs = []
    for doc in documents(ctx):
        refs.append(weakref.ref(doc))
        assert doc.kind in ("python", "yaml")
    del doc
    gc.collect()
    assert len(refs) == 24
    assert [r for r in refs if r() is not None] == []  # nothing holds a parsed document


def test_kept_texts_stay_within_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    size = _tree(tmp_path, files=40, repeat=4)
    whole = audit([tmp_path], environ=None)
    monkeypatch.setattr(audit_context, "CACHE_BUDGET_CHARS", size // 10)
    ctx = AuditContext(paths=[tmp_path])
    for path in ctx.files():
        assert ctx.read_text(path) == path.read_text()
    assert 0 < ctx.cached_text_chars() <= size // 10
    # past the budget, files are re-read: the findings are the same
    bounded = audit([tmp_path], environ=None)
    assert [f.to_dict() for f in bounded.findings] == [f.to_dict() for f in whole.findings]


def test_peak_memory_is_not_proportional_to_the_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1 MB tree of Python and YAML. Keeping every parsed document cost ~55 times the tree
    (syntax trees, node lists); dropping them, the run's peak is a few MB whatever the tree
    (3.1 MB for 0.4 MB, 3.8 MB for 3 MB, measured with tracemalloc)."""
    monkeypatch.setattr(audit_context, "CACHE_BUDGET_CHARS", 256 * 1024)
    warm = tmp_path / "warm"
    warm.mkdir()
    _tree(warm, files=20, repeat=20)
    audit([warm], environ=None)  # imports and compiled patterns are not the tree's memory
    big = tmp_path / "big"
    big.mkdir()
    size = _tree(big, files=80, repeat=20)
    assert size > 900_000
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        report = audit([big], environ=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.families  # it ran every family
    assert peak - base < 10 * 1024 * 1024, f"peak {peak - base} bytes for a {size}-byte tree"
