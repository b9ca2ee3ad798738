"""Markdown to HTML for text prodshield wrote from hostile input (the log digest quotes log lines).

markdown-it-py (CommonMark, already installed with rich) with raw HTML switched off: every ``<``
in the source comes out escaped, links, autolinks and images stay plain text (a log line can hold
``[click](https://...)``), and tables (GitHub style, which the digest uses) are on.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:  # imported by the first page that renders Markdown, not at every start
    from markdown_it import MarkdownIt

MAX_CHARS = 200_000
"""Longer sources are cut: a panel is no place for megabytes."""


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.enable("strikethrough")
    # the digest quotes log lines: a "[text](url)" or an image written by a client is shown as
    # written, never as a link to click or a picture to fetch
    md.disable(["link", "image", "autolink"])
    return md


_ALIGN = re.compile(r' style="text-align:(left|right|center)"')
_HEADING = re.compile(r"<(/?)h([1-6])>")


def markdown_html(source: str, *, shift: int = 2) -> Markup:
    """Safe HTML for ``source``: no raw HTML, no links or images; headings shifted down.

    Headings move down ``shift`` levels (the page has its own ``h1``/``h2``); column alignment
    becomes a class, since the content security policy forbids inline styles.
    """
    html = _parser().render(source[:MAX_CHARS])
    html = _ALIGN.sub(r' class="al-\1"', html)
    html = _HEADING.sub(lambda m: f"<{m[1]}h{min(6, int(m[2]) + shift)}>", html)
    # a table wider than the page (a phone) scrolls in its own box, not the page
    html = html.replace("<table>", '<div class="scroll"><table class="grid md">')
    html = html.replace("</table>", "</table></div>")
    return Markup(html)
