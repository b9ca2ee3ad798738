"""The docs site: `mkdocs build --strict` (as .ci/run runs it) builds every page of docs/ with the
README as the home page and its screenshots, and the nav lists every page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _nav_pages(nav: list[Any]) -> list[str]:
    out: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            out += _nav_pages(value)
        else:
            out.append(value)
    return out


def test_nav_lists_every_page_of_docs() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = _nav_pages(config["nav"])
    assert len(pages) == len(set(pages)), pages
    on_disk = {p.name for p in DOCS.glob("*.md")} | {"index.md"}
    assert set(pages) == on_disk


def test_site_builds_strict_with_the_readme_and_its_screenshots(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    home = (site / "index.html").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shots = re.findall(r"\(docs/(screenshots/[\w.-]+\.png)\)", readme)
    assert shots, "the README shows the screenshots"
    for shot in shots:
        assert f'src="{shot}"' in home
        assert (site / shot).stat().st_size > 1000
    for page in DOCS.glob("*.md"):
        assert (site / page.stem / "index.html").is_file(), page.name
    reference = (site / "config" / "index.html").read_text(encoding="utf-8")
    assert 'id="servelimits"' in reference
    assert "cdn" not in home.lower()
