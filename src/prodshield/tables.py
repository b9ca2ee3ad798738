"""Terminal tables that fit 80 columns, shared by the CLI and the lower layer (the secrets
report): `console` (a rich console that drops colours off a terminal) and `Grid`."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console
from rich.text import Text


def console(stderr: bool = False) -> Console:
    """A rich console that drops colours and markup effects when not on a terminal.

    Strings print as typed: no rich markup (``[red]``, ``[/]``, ``[link=...]``) and no emoji
    codes (``:fire:``) are read in them, since they so often quote outside text (a check's
    name, a log line, a target's answer): a ``[/]`` in one crashed the command with a
    MarkupError and ``[red]boom[/red]`` printed ``boom`` in red. What is styled on purpose is
    a ``Text`` with a style (:func:`styled`), or a print with ``markup=True`` of text whose
    outside parts went through ``rich.markup.escape``."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream,
        no_color=not stream.isatty() or "NO_COLOR" in os.environ,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=not stream.isatty(),
    )


def styled(text: str, style: str) -> Text:
    """``text`` as typed, in ``style`` (``styled("down", "red")``): a table cell or a line."""
    return Text(text, style=style)


def _text(cell: Any) -> Text:
    """A cell as rich will show it: a ``Text`` as it is, anything else as typed (never markup)."""
    return cell if isinstance(cell, Text) else Text(str(cell))


class Grid:
    """A terminal table that fits 80 columns: no vertical rules, single spaces between columns,
    and key columns (a check's name, a finding's kind) never cut or wrapped: the free-text
    columns wrap instead, between words (no number or word is split); only when whole words
    cannot fit beside the keys does the widest key (a long name) wrap in its own column. And
    ``optional`` columns are left out when the terminal is narrower than ``wide`` columns. ``fold`` columns (a path, a list of attributes) that would not fit
    whole go to lines of their own under their row (``  name: text``), wrapped between words
    only, so no path or word is cut; when the row is still wider than the terminal (long ``whole``
    keys), its rightmost columns go to such lines too, never the first."""

    WORD = 28
    MIN = 5
    SHORT = 12
    """Words up to this long (``[CERTIFICATE_EXPIRATION]``) are never split in a wrapping column."""

    def __init__(
        self,
        *columns: str,
        keys: tuple[str, ...] = (),
        right: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        wide: int = 100,
        fold: tuple[str, ...] = (),
        title: str | None = None,
        out: Console | None = None,
        whole: tuple[str, ...] = (),
    ) -> None:
        from rich import box
        from rich.table import Table

        self.console = out or console()
        self.columns = columns
        self.right = right
        self.fold = {i for i, c in enumerate(columns) if c in fold}
        self.whole = {i for i, c in enumerate(columns) if c in whole}
        """Key columns never narrowed (an id that is copied: the free text gives way)."""
        self.title = title
        self.rows: list[list[str]] = []
        self.cells: list[list[Any]] = []
        narrow = self.console.width < wide
        self.shown = [i for i, c in enumerate(columns) if not (narrow and c in optional)]
        self.keys = {i for i in self.shown if columns[i] in keys}
        self.widths = {i: len(columns[i]) for i in self.keys}
        self.words = {
            i: max(len(w) for w in columns[i].split()) for i in self.shown if i not in self.keys
        }
        self.natural = {i: len(columns[i]) for i in self.shown if i not in self.keys}
        self.table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title=title)
        for i in self.shown:
            name = columns[i]
            self.table.add_column(
                name,
                justify="right" if name in right else "left",
                no_wrap=i in self.keys,
                overflow="fold",
            )

    def add_row(self, *cells: Any) -> None:
        """One row: each cell a ``Text`` (styled on purpose) or a value printed as typed (a
        string is never read as rich markup: a ``[/]`` in a check's name is shown, not parsed)."""
        cells = tuple(_text(c) for c in cells)
        plain = [c.plain for c in cells]
        self.rows.append(plain)
        for i in self.shown:
            text = plain[i]
            if i in self.keys:
                self.widths[i] = max(self.widths[i], len(text))
            else:
                # the free text wraps between words: its longest word (up to WORD) stays whole
                longest = max((len(word) for word in _words(text)), default=0)
                self.words[i] = max(self.words[i], min(longest, self.WORD))
                lines = text.splitlines() or [""]
                self.natural[i] = max(self.natural[i], *(len(line) for line in lines))
        self.cells.append([cells[i] for i in self.shown])

    def _wrap_widths(self) -> dict[int, int] | None:
        """Widths for the wrapping columns when the table is wider than the terminal: each at
        least its longest word, short columns whole, the rest shared in proportion to what each
        would like more. When whole words cannot fit beside the key columns, the widest key
        (a long check name) is narrowed and wraps (``_narrowed_keys``), so no number or word
        of another column is ever split; its width is then in the answer too.
        None when it fits as it is, or when even narrowed keys leave no room for whole words."""
        gaps = 2 + 2 * (len(self.shown) - 1)  # the edges and two spaces between columns
        free = [i for i in self.shown if i not in self.keys]
        fixed = sum(self.widths.values()) + gaps
        if fixed + sum(self.natural[i] for i in free) <= self.console.width or not free:
            return None
        floor = {i: max(1, self.words[i]) for i in free}
        keys = self._narrowed_keys(self.console.width - gaps - sum(floor.values()))
        if keys is None:
            return self._squeezed(free, gaps)
        room = self.console.width - gaps - sum(keys.values())
        spare = room - sum(floor.values())
        # short cells (a time, a percentage, "336 ms") stay on one line while there is room
        for i in sorted(free, key=lambda i: self.natural[i] - floor[i]):
            extra = self.natural[i] - floor[i]
            if self.natural[i] <= self.SHORT and 0 < extra <= spare:
                floor[i] += extra
                spare -= extra
        wants = {i: max(0, self.natural[i] - floor[i]) for i in free}
        total = sum(wants.values()) or 1
        out = {i: floor[i] + spare * wants[i] // total for i in free}
        # whatever rounding left goes to the widest column
        out[max(free, key=lambda i: wants[i])] += room - sum(out.values())
        out.update({i: w for i, w in keys.items() if w < self.widths[i]})
        return out

    def _narrowed_keys(self, budget: int, *, all_the_way: bool = False) -> dict[int, int] | None:
        """The key columns' widths within ``budget``: the widest narrowed first, none below
        ``SHORT`` or its header's longest word; None when that is still too wide (with
        ``all_the_way``: as narrow as that floor allows)."""
        widths = dict(self.widths)
        floor = {
            i: widths[i] if i in self.whole else max(self.SHORT, *map(len, self.columns[i].split()))
            for i in widths
        }
        while sum(widths.values()) > budget:
            narrowable = [i for i in widths if widths[i] > floor[i]]
            if not narrowable:
                return widths if all_the_way else None
            widths[max(narrowable, key=lambda i: widths[i])] -= 1
        return widths

    def _squeezed(self, free: list[int], gaps: int) -> dict[int, int]:
        """Widths on a terminal too narrow for whole words beside the keys (60 columns): the
        keys as narrow as they go, the rest shared by the free columns in proportion to their
        longest words (at least their header's longest word or ``MIN``); ``fitted`` then
        breaks a long word between its parts or cuts it with a mark, never in mid-number."""
        keys = self._narrowed_keys(0, all_the_way=True) or {}
        room = self.console.width - gaps - sum(keys.values())
        low = {i: max(self.MIN, *map(len, self.columns[i].split())) for i in free}
        total = sum(max(1, self.words[i]) for i in free) or 1
        out = {i: max(low[i], room * max(1, self.words[i]) // total) for i in free}
        out[max(free, key=lambda i: self.words[i])] += max(0, room - sum(out.values()))
        out.update({i: w for i, w in keys.items() if w < self.widths[i]})
        return out

    def _folds(self) -> bool:
        """True when a ``fold`` column would have to wrap inside a word to fit the terminal."""
        if not self.fold or not self.rows:
            return False
        widths = self._wrap_widths()
        if widths is None:
            gaps = 2 + 2 * (len(self.shown) - 1)
            fixed = sum(self.widths.values()) + gaps
            free = [i for i in self.shown if i not in self.keys]
            return fixed + sum(self.natural[i] for i in free) > self.console.width
        longest = {
            i: max((len(w) for row in self.rows for w in _words(row[i])), default=0)
            for i in self.shown
            if i in self.fold
        }
        return any(longest[i] > widths[i] for i in longest)

    def _print_folded(self) -> None:
        """The row columns aligned and never wrapped, each ``fold`` cell on lines of its own."""
        import textwrap

        inline = [i for i in self.shown if i not in self.fold]
        width = {i: max(len(self.columns[i]), *(len(r[i]) for r in self.rows)) for i in inline}
        folded = [i for i in self.shown if i in self.fold]
        # still too wide (long names kept whole): the rightmost columns fold too, never the first
        while len(inline) > 1 and 1 + sum(width[i] for i in inline) + 2 * (len(inline) - 1) > (
            self.console.width
        ):
            folded.insert(0, inline.pop())

        def line(cells: dict[int, str]) -> str:
            parts = [
                cells[i].rjust(width[i])
                if self.columns[i] in self.right
                else cells[i].ljust(width[i])
                for i in inline
            ]
            return " " + "  ".join(parts).rstrip().replace(NBSP, " ")

        out = [line({i: self.columns[i] for i in inline})]
        out.append(" " + "─" * (len(out[0]) - 1))
        room = max(20, self.console.width - 4)
        for row in self.rows:
            out.append(line({i: row[i] for i in inline}))
            for i in folded:
                if row[i]:
                    text = f"{self.columns[i]}: {row[i]}"
                    out.extend(
                        "   " + piece.replace(NBSP, " ")
                        for piece in textwrap.wrap(
                            text, room, break_long_words=False, break_on_hyphens=False,
                            subsequent_indent="  ",
                        )
                    )  # fmt: skip
        if self.title:
            self.console.print(Text(self.title))
        for text in out:
            self.console.print(Text(text), soft_wrap=True)

    def print(self) -> None:
        if self._folds():
            self._print_folded()
            return
        widths = self._wrap_widths() or {}
        for position, i in enumerate(self.shown):
            column = self.table.columns[position]
            if i in widths:
                # wrapped here, between words (a long word between its parts), never by rich
                column.width, column.no_wrap, column.overflow = widths[i], True, "ellipsis"
                column.header = fitted(Text(self.columns[i]), widths[i])
            elif i in self.keys:
                column.min_width = self.widths[i]
        for cells in self.cells:
            shown = zip(self.shown, cells, strict=True)
            self.table.add_row(
                *(_spaced(fitted(c, widths[i]) if i in widths else c) for i, c in shown)
            )
        self.cells = []
        self.console.print(self.table)


NBSP = "\u00a0"
"""A no-break space in a cell keeps its words on one line (``3m\u00a044s``); printed as a space."""
WORD_RE = r"(?:[^\s]|\u00a0)+"
"""A word a cell may wrap after: a no-break space does not end one."""


def _words(text: str) -> list[str]:
    import re

    return re.findall(WORD_RE, text)


def _spaced(cell: Text) -> Text:
    """``cell`` with its no-break spaces printed as spaces (the same length: styles stay)."""
    if NBSP not in cell.plain:
        return cell
    out = cell.copy()
    out.plain = cell.plain.replace(NBSP, " ")
    return out


SEPARATORS = frozenset("_-./:@=,;|\\\u2026")
"""Where a word too long for its column may be broken: after one of these (``db_connection_`` /
``failure``, ``web-07.eu-west-3.`` / ``prod.example.com``, a cut text's ``AAAA…`` /
``[98,029``), never between two digits (``203.0.113.29`` and ``1,234,567`` stay whole)."""


def fitted(cell: Any, width: int) -> Text:
    """``cell`` (a ``Text``, or a value shown as typed) in lines of at most ``width`` characters:
    wrapped between words; a word longer than ``width`` broken after a separator, and a part
    that still does not fit (a long number, a long token) cut with a visible ``…``."""
    text = _text(cell)
    width = max(2, width)
    text, lines = _counted(text, width)
    pieces = [
        text[a:b] if not cut else text[a : a + width - 1] + Text("\u2026") for a, b, cut in lines
    ]
    return Text("\n").join(pieces) if pieces else Text("")


def _counted(text: Text, width: int) -> tuple[Text, list[tuple[int, int, bool]]]:
    """``text`` wrapped to ``width``; when it ends with a cut note (``…[98,029 more
    characters]``) and the wrapping cuts words before it, the note counts those characters too,
    so it stays true of what the table shows (the line as logged, however often it was cut)."""
    from prodshield.text import cut_note

    lines = _lines(text.plain, width)
    note = cut_note(text.plain)
    if note is None:
        return text, lines
    at, start, end, count = note
    shown, extra = text, 0
    for _ in range(3):  # the number's length may change where the cuts fall
        dropped = sum(max(0, min(b, at) - (a + width - 1)) for a, b, cut in lines if cut and a < at)
        if dropped == extra:
            break
        extra = dropped
        shown = text[:start] + Text(f"{count + extra:,}") + text[end:]
        lines = _lines(shown.plain, width)
    return shown, lines


def _lines(plain: str, width: int) -> list[tuple[int, int, bool]]:
    """``(start, end, cut)`` of each line of ``plain`` wrapped to ``width``."""
    import re

    out: list[tuple[int, int, bool]] = []
    offset = 0
    for para in plain.split("\n"):
        start = end = -1
        for word in re.finditer(WORD_RE, para):
            a, b = offset + word.start(), offset + word.end()
            if start >= 0 and b - start <= width:
                end = b
                continue
            if start >= 0:
                out.append((start, end, False))
                start = -1
            parts = _parts(plain, a, b, width) if b - a > width else [(a, b, False)]
            out.extend(parts[:-1])
            if parts[-1][2]:
                out.append(parts[-1])
            else:
                start, end = parts[-1][0], parts[-1][1]
        if start >= 0:
            out.append((start, end, False))
        elif not para.strip():
            out.append((offset, offset, False))
        offset += len(para) + 1
    return out


def _parts(plain: str, a: int, b: int, width: int) -> list[tuple[int, int, bool]]:
    """A word ``plain[a:b]`` longer than ``width`` in pieces: each as long as it can be while
    ending after a separator; when there is no such place, the rest is cut (``True``): shown as
    its first ``width - 1`` characters and ``…``."""
    out: list[tuple[int, int, bool]] = []
    while b - a > width:
        stop = next(
            (
                k
                for k in range(a + width, a, -1)
                if plain[k - 1] in SEPARATORS
                and not (plain[k - 2 : k - 1].isdigit() and plain[k : k + 1].isdigit())
            ),
            None,
        )
        if stop is None:
            # no place to break within the width: this part is cut (with a mark) up to the next
            # place, so what follows it (a cut text's "…[98,029 more characters]") still shows
            after = next(
                (
                    k
                    for k in range(a + width + 1, b)
                    if plain[k - 1] in SEPARATORS
                    and not (plain[k - 2 : k - 1].isdigit() and plain[k : k + 1].isdigit())
                ),
                None,
            )
            if after is None:
                out.append((a, b, True))  # nowhere to break: the rest of the word is cut
                return out
            out.append((a, after, True))
            a = after
            continue
        out.append((a, stop, False))
        a = stop
    out.append((a, b, False))
    return out
