"""The digest's Markdown as HTML: tables and headings render, whatever a log line wrote stays text."""

from __future__ import annotations

from prodshield.web.markdown import markdown_html


def test_tables_and_headings_render_with_classes_not_inline_styles() -> None:
    html = str(
        markdown_html("# Digest\n\n## Performance\n\n| a | n |\n| --- | ---: |\n| x | 1 |\n")
    )
    assert "<h3>Digest</h3>" in html and "<h4>Performance</h4>" in html
    assert '<table class="grid md">' in html and '<td class="al-right">1</td>' in html
    assert "style=" not in html


def test_hostile_log_text_stays_text() -> None:
    source = (
        "- **error** x1: <script>alert(1)</script> <img src=x onerror=alert(1)> "
        "[click](https://evil.example/) ![p](https://evil.example/p.png) <https://evil.example/> "
        "[js](javascript:alert(1))\n\n<iframe src=https://evil.example></iframe>\n"
    )
    html = str(markdown_html(source))
    for tag in ("<script", "<img", "<a ", "<iframe"):
        assert tag not in html, tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[click](https://evil.example/)" in html
    assert "<strong>error</strong>" in html


def test_long_sources_are_cut() -> None:
    html = str(markdown_html("x" * 1_000_000))
    assert len(html) < 250_000
