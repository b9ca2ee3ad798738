"""MkDocs hooks: the README is the site's home page, so it is written once.

Its links point into docs/ from the repository root (``docs/monitor.md``); on the site they are
relative to docs/ (``monitor.md``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

README = Path(__file__).resolve().parent.parent / "README.md"


def on_files(files: Files, config: Any) -> Files:
    text = README.read_text(encoding="utf-8")
    files.append(File.generated(config, "index.md", content=_relink(text)))
    return files


def _relink(text: str) -> str:
    return re.sub(r"\]\(docs/", "](", text)
