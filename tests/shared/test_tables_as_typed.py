"""`tables.Grid` and `tables.console` print strings as typed: a cell or a line is never read as
rich markup or an emoji code; styling is a `Text` with a style (`tables.styled`)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from prodshield import tables
from prodshield.tables import Grid, fitted, styled

HOSTILE = ["[/]", "[red]boom[/red]", "[link=http://x.example]y[/link]", ":fire:"]


def _terminal(monkeypatch: pytest.MonkeyPatch, width: int = 120) -> io.StringIO:
    """What `tables.console()` writes, as on a colour terminal (so styles are emitted)."""
    buf = io.StringIO()
    real = Console

    def console(**kwargs: object) -> Console:
        kwargs.update(file=buf, force_terminal=True, width=width, no_color=False)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tables, "Console", console)
    return buf


def test_grid_cells_print_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = _terminal(monkeypatch)
    grid = Grid("name", "state", "text", keys=("name",))
    for value in HOSTILE:
        grid.add_row(value, styled("down", "red"), f"said {value} here")
    grid.print()
    out = buf.getvalue()
    plain = "".join(part.split("m", 1)[-1] for part in out.split("\x1b["))
    for value in HOSTILE:
        assert value in plain, plain
    assert "\x1b[31mdown" in out  # the styled cell keeps its colour
    assert "🔥" not in out and "\x1b]8;" not in out  # no emoji, no hyperlink


def test_console_lines_print_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = _terminal(monkeypatch)
    tables.console().print(f"incident #1 opened: {' '.join(HOSTILE)}")
    assert "[/] [red]boom[/red] [link=http://x.example]y[/link] :fire:" in buf.getvalue()
    # a wrapped cell (`fitted`, for a column narrower than its text) is as typed too
    assert fitted("[/] [red]boom[/red]", 40).plain == "[/] [red]boom[/red]"
    assert fitted("[/] [red]boom[/red]", 16).plain.split("\n") == ["[/]", "[red]boom[/red]"]
