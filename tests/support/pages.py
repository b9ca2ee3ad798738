"""Parts of the pages serve draws, found by the tests that read them."""

from __future__ import annotations

import re


def part(html: str, pattern: str) -> str:
    """The first match of ``pattern`` (``.`` matching newlines too) in ``html``; the test fails
    showing the page's start when there is none."""
    found = re.search(pattern, html, re.S)
    assert found is not None, html[:3000]
    return found.group(0)


def service_card(html: str, name: str, environment: str | None = None) -> str:
    """The status page's card of service ``name`` (of ``environment`` when given)."""
    where = f'data-service="{re.escape(name)}"'
    if environment is not None:
        where += f' data-environment="{re.escape(environment)}">'
    return part(html, rf'<article class="service" {where}.*?</article>')
