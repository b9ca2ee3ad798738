"""The accuracy benchmark's own parts: where it finds Loghub-2k, and the labelled sets being
exactly what their generator writes (so docs/logs.md's description of them is the data)."""

from __future__ import annotations

import filecmp
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_loghub_data_is_found_above_the_checkout_or_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loghub = _module(ROOT / "benchmarks" / "loghub.py")
    monkeypatch.delenv(loghub.DATA_ENV, raising=False)
    data = tmp_path / "shared" / "datasets" / "loghub-2k"
    data.mkdir(parents=True)
    deep = tmp_path / "wt" / "helper" / "benchmarks" / "loghub.py"
    assert loghub.find_data(deep) == data
    assert loghub.find_data(tmp_path.parent / "elsewhere" / "loghub.py") is None
    monkeypatch.setenv(loghub.DATA_ENV, str(tmp_path / "mine"))
    assert loghub.find_data(deep) == tmp_path / "mine"


def test_loghub_benchmark_without_data_is_a_one_line_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "loghub.py"), "--data", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "loghub-2k not found" in proc.stderr
    assert "--data DIR or set PRODSHIELD_LOGHUB_2K" in proc.stderr


def test_labelled_sets_are_what_the_generator_writes(tmp_path: Path) -> None:
    labelled = ROOT / "benchmarks" / "data" / "labelled"
    make = _module(labelled / "make_labelled.py")
    make.__dict__["HERE"] = tmp_path  # main() writes to HERE
    make.main()
    written = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert written == ["HAProxy.csv", "Kafka.csv", "MinIO.csv", "Nginx.csv", "Redis.csv"]
    for name in written:
        assert filecmp.cmp(tmp_path / name, labelled / name, shallow=False), name


def test_whole_lines_are_the_raw_file_with_the_message_labels(tmp_path: Path) -> None:
    loghub = _module(ROOT / "benchmarks" / "loghub.py")
    system = tmp_path / "Demo"
    system.mkdir()
    (system / "Demo_2k.log").write_text(
        "2026-12-06 10:00:01 web1 sshd[12]: session opened for alice\n"
        "  2026-12-06 10:00:02 web1 sshd[13]: session closed for bob\n",
        encoding="utf-8",
    )
    (system / "Demo_2k.log_structured_corrected.csv").write_text(
        "Content,EventTemplate\n"
        "session opened for alice,session opened for <*>\n"
        "session closed for bob,session closed for <*>\n",
        encoding="utf-8",
    )
    lines, truth = loghub.load_whole(tmp_path, "Demo")
    assert lines[1] == "2026-12-06 10:00:02 web1 sshd[13]: session closed for bob"
    assert truth == ["session opened for <*>", "session closed for <*>"]
    (system / "Demo_2k.log").write_text("one line only\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="1 raw lines but 2 labels"):
        loghub.load_whole(tmp_path, "Demo")


def test_misgrouped_lists_the_labelled_groups_split_or_merged() -> None:
    loghub = _module(ROOT / "benchmarks" / "loghub.py")
    lines = ["due to closing", "due to timeout expired", "due to closing", "up 1", "up 2", "down"]
    truth = ["due to <*>", "due to <*>", "due to <*>", "up <*>", "up <*>", "down"]
    keys = ["k1", "k2", "k1", "k3", "k3", "k3"]
    texts = ["due to closing", "due to timeout expired", "due to closing", "<*>", "<*>", "<*>"]
    found = loghub.misgrouped(lines, truth, (keys, texts))
    # the split group first (3 lines), then the two labels merged under k3, each once
    assert [(label, n) for label, n, _ in found] == [("due to <*>", 3), ("up <*>", 2), ("down", 1)]
    split = found[0][2]
    assert [(key, count, template) for key, count, template, _, _ in split] == [
        ("k1", 2, "due to closing"),
        ("k2", 1, "due to timeout expired"),
    ]
    assert split[1][3] == "due to timeout expired" and split[0][4] == {}
    assert found[1][2] == [("k3", 2, "<*>", "up 1", {"down": 1})]
    assert found[2][2] == [("k3", 1, "<*>", "down", {"up <*>": 2})]
    # a prediction that matches the labels has nothing to show
    assert loghub.misgrouped(lines, truth, (truth, truth)) == []


def test_the_follow_benchmark_prints_a_step_the_drain3_follower_read_nothing_of() -> None:
    """A step where the Drain3 follower fell further behind and read no line has no ratio
    (it stopped the whole run with ZeroDivisionError before serve's last row)."""
    follow = _module(ROOT / "benchmarks" / "logs_follow.py")
    theirs = (40_000, 0.0, 2.26, 79_593_915.0, 79_593_915.0)
    row = follow._row((40_000, 120_000.0, 2.0, 0.0, 0.0), 100.0, 16_000.0, theirs)
    assert "| 60,000 |" in row and "| - |" in row
