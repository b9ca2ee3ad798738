"""Journey: the inline allow comment means the same to `prodshield audit` and `prodshield audit
secrets` (CLI as a subprocess, real files in a git repository): `# prodshield: allow`, the
spelling docs/audit.md gives, silenced a key in the full audit but not in `audit secrets`, which
knew only `prodshield:allow`, and only on the secret's own line; a comment naming other rules
silences neither; a comment alone on the line above counts, one after code on the line above does
not; `--strict` honours none."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from support.cli import prodshield, wide_env

KEYS = ["AKIA" + k for k in ("Q3EGTRZ7XKLM4P3Q", "Q3EGTRZ7XKLM4P4R", "Q3EGTRZ7XKLM4P5S")]
KEYS += ["AKIA" + k for k in ("Q3EGTRZ7XKLM4P6T", "Q3EGTRZ7XKLM4P7U")]
ABOVE = "AKIA" + "Q3EGTRZ7XKLM4P2Z"  # silenced by the comment on the line above it
SILENCED, NEXT = "AKIA" + "Q3EGTRZ7XKLM4P2Y", "AKIA" + "Q3EGTRZ7XKLM4P2X"
COMMENTS = [
    "# prodshield: allow",
    "# prodshield:allow",
    "# PRODSHIELD : Allow secrets.leak (rotated, kept for the docs)",
    "# prodshield: allow aws-access-key-id",
    "# prodshield: allow config.django-debug",  # names another rule: the key is reported
]


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "app").mkdir(parents=True)
    lines = [
        f'K{i} = "{key}"  {comment}'
        for i, (key, comment) in enumerate(zip(KEYS, COMMENTS, strict=True))
    ]
    lines.append("# prodshield: allow (the line below is a documented example)")
    lines.append(f'EXAMPLE = "{ABOVE}"')
    # a comment after code is its own line's: the key on the next line is reported
    lines.append(f'SILENCED = "{SILENCED}"  # prodshield: allow')
    lines.append(f'NEXT = "{NEXT}"')
    (root / "app" / "config.py").write_text("\n".join(lines) + "\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _json(root: Path, *args: str) -> dict[str, Any]:
    done = prodshield(root, *args, "--format", "json", env=wide_env())
    assert done.returncode in (0, 1), done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    return data


def test_both_commands_honour_both_spellings(tmp_path: Path) -> None:
    root = _repo(tmp_path)

    scanner = _json(root, "audit", "secrets", "app")
    assert [f["line"] for f in scanner["findings"]] == [5, 9], scanner["findings"]
    assert scanner["stats"]["allowed_inline"] == 6

    full = _json(root, "audit", "app", "--only", "secrets", "--no-process-env", "--no-store")
    assert [(f["rule"], f["line"]) for f in full["findings"]] == [
        ("secrets.leak", 5),
        ("secrets.leak", 9),
    ]

    strict_scanner = _json(root, "audit", "secrets", "app", "--strict")
    assert [f["line"] for f in strict_scanner["findings"]] == [1, 2, 3, 4, 5, 7, 8, 9]
    strict_full = _json(
        root,
        "audit",
        "app",
        "--only",
        "secrets",
        "--no-process-env",
        "--no-store",
        "--strict",
    )
    assert sorted(f["line"] for f in strict_full["findings"]) == [
        1,
        2,
        3,
        4,
        5,
        7,
        8,
        9,
    ]
    for data in (scanner, full, strict_scanner, strict_full):
        text = json.dumps(data)
        assert not any(key in text for key in [*KEYS, ABOVE, SILENCED, NEXT])
