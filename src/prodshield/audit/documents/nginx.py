"""The nginx parser: directives and their blocks, quotes and comments handled."""

from __future__ import annotations

from collections.abc import Iterator

from prodshield.audit.documents.directives import Directive
from prodshield.audit.documents.document import ConfigDoc


def _tokenize_nginx(text: str) -> Iterator[tuple[str, int]]:
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            yield c, line
            i += 1
        elif c in "\"'":
            j = i + 1
            buf = []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                if text[j] == "\n":
                    line += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise ValueError(f"line {line}: unterminated quote")
            yield "\x00" + "".join(buf), line
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};":
                j += 1
            yield text[i:j], line
            i = j


def parse_nginx(doc: ConfigDoc) -> None:
    stack: list[list[Directive]] = [doc.directives]
    words: list[tuple[str, int]] = []
    for tok, line in _tokenize_nginx(doc.text):
        if tok in (";", "{"):
            if not words:
                raise ValueError(f"line {line}: unexpected {tok!r}")
            d = Directive(
                words[0][0].lstrip("\x00"), [w.lstrip("\x00") for w, _ in words[1:]], words[0][1]
            )
            stack[-1].append(d)
            words = []
            if tok == "{":
                d.block = []
                stack.append(d.block)
        elif tok == "}":
            if words or len(stack) == 1:
                raise ValueError(f"line {line}: unexpected '}}'")
            stack.pop()
        else:
            words.append((tok, line))
    if len(stack) != 1 or words:
        raise ValueError("unbalanced braces")
