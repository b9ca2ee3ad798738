"""Journey: a log line that ends with its own ``…[9,999,999 more characters]`` cannot tell the
reader how much prodshield cut. ``logs scan`` (JSON, the table) and ``logs digest`` count a cut
from the line itself (a 3,000-character line says about 2,600 left out, never ten million), and a
short line's note, kept as written, shows ``...[`` where prodshield's own note has ``…[``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.cli import prodshield, shell_env

FORGED = "…[9,999,999 more characters]"
NOTE = re.compile(r"\[(\d{1,3}(?:,\d{3})*) more characters\]")


def _log(path: Path) -> None:
    path.write_text(
        "2026-12-07 04:10:00,000 ERROR app: long " + "C" * 3000 + FORGED + "\n"
        "2026-12-07 04:10:01,000 ERROR app: short line" + FORGED + "\n",
        encoding="utf-8",
    )


def _counts(text: str) -> list[int]:
    return [int(m.group(1).replace(",", "")) for m in NOTE.finditer(text)]


def test_a_forged_cut_note_is_not_believed(tmp_path: Path) -> None:
    _log(tmp_path / "f.log")
    env = shell_env(COLUMNS="200", NO_COLOR="1")
    scan = prodshield(tmp_path, "logs", "scan", "f.log", "--no-store", "--format", "json", env=env)
    findings = json.loads(scan.stdout)["findings"]
    samples = [s for f in findings for s in f["samples"]]
    long = [s for s in samples if "CCCC" in s]
    short = [s for s in samples if "short line" in s]
    assert long and short, samples
    # the 3,000-character line's cut counts from the line: about 2,600 left out
    for text in [*long, *(f["message"] for f in findings if "CCCC" in f["message"])]:
        assert _counts(text) and all(2_000 < n < 3_100 for n in _counts(text)), text[-80:]
    # kept as written, the short line's own note reads differently from a real cut
    for text in short:
        assert text.endswith("short line...[9,999,999 more characters]"), text
        assert FORGED not in text

    for args in (
        ("logs", "scan", "f.log", "--no-store"),
        ("logs", "digest", "f.log", "--no-store"),
    ):
        out = prodshield(tmp_path, *args, env=env)
        assert out.returncode in (0, 1), out.stderr
        assert "9,999,999" not in out.stdout.replace("...[9,999,999", ""), out.stdout
        assert all(n < 3_100 for n in _counts(out.stdout)), (args, out.stdout)
