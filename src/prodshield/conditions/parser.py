"""Tokenizer and recursive-descent parser for Gatus's condition language (no ``eval``).

A condition is ``operand OP operand``. An operand is a placeholder with an optional path
(``[BODY].data[0].id``, ``[HEADER].content-type``), a function call (``len(...)``, ``has(...)``,
``pat(...)``, ``any(...)``) or a literal (``200``, ``14d``, ``UP``, ``"quoted text"``). As in Gatus,
an unquoted literal on the right of the operator runs to the end of the condition, so
``[BODY].message == all good`` compares with ``all good``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
MAX_LENGTH = 1000
"""A condition longer than this is refused at load (parsing stays bounded; none needs more)."""

# Placeholders and their value kinds: "number", "ms" (milliseconds; durations allowed), "bool",
# "text", "any" (JSON or text). The check types say which ones they provide.
PLACEHOLDERS: dict[str, str] = {
    "STATUS": "number",
    "RESPONSE_TIME": "ms",
    "BODY": "any",
    "HEADER": "any",
    "IP": "text",
    "CONNECTED": "bool",
    "CERTIFICATE_EXPIRATION": "ms",
    "CERTIFICATE_ISSUER": "text",
    "CERTIFICATE_SUBJECT": "text",
    "CERTIFICATE_HOSTNAME_MATCH": "bool",
    "CERTIFICATE_CHAIN_VALID": "bool",
    "TLS_VERSION": "text",
    "DNS_RCODE": "text",
    "ANSWERS": "any",
    "RESULT": "any",
    "ROLE": "text",
}
PATH_PLACEHOLDERS = frozenset({"BODY", "HEADER", "ANSWERS", "RESULT"})
FUNCTIONS = ("len", "has", "pat", "any")


class ConditionSyntaxError(ValueError):
    """A condition cannot be parsed; ``column`` is 1-based within the condition text."""

    def __init__(self, message: str, text: str, column: int) -> None:
        self.text = text
        self.column = column
        super().__init__(f"{message} (at column {column} of {text!r})")


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        out = f"[{self.name}]"
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else f".{part}"
        return out


@dataclass(frozen=True, slots=True)
class Literal:
    text: str
    quoted: bool = False

    def __str__(self) -> str:
        return f'"{self.text}"' if self.quoted else self.text


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Operand, ...]

    def __str__(self) -> str:
        return f"{self.func}({', '.join(str(a) for a in self.args)})"


Operand = Placeholder | Literal | Call


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition; ``text`` is what the user wrote."""

    text: str
    left: Operand
    op: str
    right: Operand

    def placeholders(self) -> set[str]:
        found: set[str] = set()

        def walk(o: Operand) -> None:
            if isinstance(o, Placeholder):
                found.add(o.name)
            elif isinstance(o, Call):
                for a in o.args:
                    walk(a)

        walk(self.left)
        walk(self.right)
        return found


_NAME_RE = re.compile(r"[A-Z_]+")
_KEY_RE = re.compile(r"[^.\[\]\s(),=!<>]+")
_BARE_STOP = " \t,()=!<>"
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$")
_DURATION_MS = {"ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6, "d": 8.64e7, "w": 6.048e8}


def duration_unit(text: str) -> tuple[str, float] | None:
    """A duration literal's unit and its length in ms (``1s`` -> ``("s", 1000.0)``), or None."""
    m = _DURATION_RE.match(text.strip())
    return (m.group(2), _DURATION_MS[m.group(2)]) if m else None


def literal_number(text: str, kind: str) -> float | None:
    """A literal as a number in the unit of ``kind`` (durations become ms), or None."""
    t = text.strip()
    if _NUMBER_RE.match(t):
        return float(t)
    if kind == "ms":
        m = _DURATION_RE.match(t)
        if m:
            return float(m.group(1)) * _DURATION_MS[m.group(2)]
    return None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def error(self, message: str, at: int | None = None) -> ConditionSyntaxError:
        return ConditionSyntaxError(message, self.text, (self.i if at is None else at) + 1)

    def skip_ws(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in " \t":
            self.i += 1

    def peek(self, s: str) -> bool:
        return self.text.startswith(s, self.i)

    def parse(self) -> Condition:
        self.skip_ws()
        if self.i >= len(self.text):
            raise self.error("empty condition")
        left = self.operand(rest_of_line=False)
        self.skip_ws()
        op = next((o for o in OPERATORS if self.peek(o)), None)
        if op is None:
            if self.i >= len(self.text):
                raise self.error("missing operator (one of == != < <= > >=)")
            raise self.error(
                f"expected an operator (one of == != < <= > >=), found {self.rest()!r}"
            )
        self.i += len(op)
        self.skip_ws()
        if self.i >= len(self.text):
            raise self.error(f"nothing after {op!r}")
        right = self.operand(rest_of_line=True)
        self.skip_ws()
        if self.i < len(self.text):
            raise self.error(f"unexpected {self.rest()!r} after the condition")
        cond = Condition(self.text, left, op, right)
        _check_semantics(cond, self)
        return cond

    def rest(self) -> str:
        r = self.text[self.i :]
        return r if len(r) <= 20 else r[:17] + "..."

    def operand(self, *, rest_of_line: bool) -> Operand:
        c = self.text[self.i]
        if c == "[":
            return self.placeholder()
        if c in "\"'":
            return self.quoted()
        for func in FUNCTIONS:
            if self.peek(func + "("):
                return self.call(func)
        start = self.i
        if rest_of_line:
            # Gatus compatibility: an unquoted right-hand side runs to the end of the condition.
            text = self.text[self.i :].strip()
            self.i = len(self.text)
        else:
            while self.i < len(self.text) and self.text[self.i] not in _BARE_STOP:
                self.i += 1
            text = self.text[start : self.i]
        if not text:
            raise self.error(f"expected a value, found {self.rest()!r}", start)
        m = re.match(r"^([a-z]+)\(", text)
        if m:
            raise self.error(
                f"unknown function {m.group(1)!r} (one of {', '.join(FUNCTIONS)})", start
            )
        return Literal(text)

    def placeholder(self) -> Placeholder:
        start = self.i
        self.i += 1
        m = _NAME_RE.match(self.text, self.i)
        end = self.text.find("]", self.i)
        if end < 0:
            raise self.error("unclosed '[' in placeholder", start)
        if not m or m.end() != end:
            raise self.error(f"invalid placeholder {self.text[start : end + 1]!r}", start)
        name = m.group(0)
        if name not in PLACEHOLDERS:
            raise self.error(
                f"unknown placeholder [{name}] (known: "
                + ", ".join(f"[{p}]" for p in PLACEHOLDERS)
                + ")",
                start,
            )
        self.i = end + 1
        path: list[str | int] = []
        while self.i < len(self.text):
            if self.text[self.i] == ".":
                km = _KEY_RE.match(self.text, self.i + 1)
                if not km:
                    raise self.error("expected a key after '.'", self.i)
                path.append(km.group(0))
                self.i = km.end()
            elif self.text[self.i] == "[":
                close = self.text.find("]", self.i)
                inner = self.text[self.i + 1 : close] if close > 0 else ""
                if close < 0 or not inner.strip().isdigit():
                    raise self.error("expected an index like [0]", self.i)
                path.append(int(inner))
                self.i = close + 1
            else:
                break
        if path and name not in PATH_PLACEHOLDERS:
            raise self.error(
                f"[{name}] has no fields (only [BODY], [HEADER], [ANSWERS], [RESULT])", start
            )
        if name == "HEADER" and not path:
            raise self.error("[HEADER] needs a header name: [HEADER].content-type", start)
        return Placeholder(name, tuple(path))

    def quoted(self) -> Literal:
        quote = self.text[self.i]
        start = self.i
        end = self.text.find(quote, self.i + 1)
        if end < 0:
            raise self.error("unclosed quote", start)
        self.i = end + 1
        return Literal(self.text[start + 1 : end], quoted=True)

    def call(self, func: str) -> Call:
        start = self.i
        self.i += len(func) + 1
        if func == "pat":
            return self.pattern_call(start)
        args: list[Operand] = []
        self.skip_ws()
        if self.peek(")"):
            self.i += 1
        else:
            while True:
                self.skip_ws()
                if self.i >= len(self.text):
                    raise self.error(f"unclosed '{func}('", start)
                if func == "any" and self.text[self.i] not in "[\"'":
                    args.append(self.bare_value())
                else:
                    args.append(self.operand(rest_of_line=False))
                self.skip_ws()
                if self.peek(","):
                    self.i += 1
                    continue
                if self.peek(")"):
                    self.i += 1
                    break
                raise self.error(f"expected ',' or ')' in {func}()")
        if func in ("len", "has") and (len(args) != 1 or not isinstance(args[0], Placeholder)):
            raise self.error(f"{func}() takes one placeholder, like {func}([BODY].items)", start)
        if func == "any" and not args:
            raise self.error("any() needs at least one value", start)
        return Call(func, tuple(args))

    def pattern_call(self, start: int) -> Call:
        """``pat(...)``: the glob is raw text up to the matching ')', so '*', '[' and spaces need
        no quoting."""
        depth, j = 0, self.i
        while j < len(self.text):
            ch = self.text[j]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            j += 1
        if j >= len(self.text):
            raise self.error("unclosed 'pat('", start)
        raw = self.text[self.i : j].strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            raw = raw[1:-1]
        self.i = j + 1
        return Call("pat", (Literal(raw),))

    def bare_value(self) -> Literal:
        """One of any()'s items: a bare value up to the next ',' or ')'."""
        s = self.i
        while self.i < len(self.text) and self.text[self.i] not in ",)":
            self.i += 1
        item = self.text[s : self.i].strip()
        if not item:
            raise self.error("empty value in any()", s)
        return Literal(item)


def operand_kind(o: Operand) -> str:
    """What an operand holds: its placeholder's kind (number, duration, ...), a call's result
    (``len``: number, ``has``: bool, else a pattern), or ``literal``."""
    if isinstance(o, Placeholder):
        return PLACEHOLDERS[o.name]
    if isinstance(o, Call):
        return {"len": "number", "has": "bool"}.get(o.func, "pattern")
    return "literal"


def _check_semantics(cond: Condition, p: _Parser) -> None:
    left, right, op = cond.left, cond.right, cond.op
    if isinstance(left, Call) and left.func in ("pat", "any"):
        raise p.error(f"{left.func}() belongs on the right of == or !=", 0)
    for side in (left, right):
        if isinstance(side, Call) and side.func in ("pat", "any") and op not in ("==", "!="):
            raise p.error(f"{side.func}() only works with == or !=, not {op!r}", 0)
    if isinstance(left, Literal) and isinstance(right, Literal):
        raise p.error("a condition needs a placeholder, like [STATUS] == 200", 0)
    # A literal compared with a numeric placeholder must be a number (or a duration for ms).
    for a, b in ((left, right), (right, left)):
        kind = operand_kind(a)
        lits = [b] if isinstance(b, Literal) else []
        if isinstance(b, Call) and b.func == "any":
            lits = [x for x in b.args if isinstance(x, Literal)]
        for lit in lits:
            if kind in ("number", "ms") and literal_number(lit.text, kind) is None:
                unit = " or a duration like 500ms, 2s, 14d" if kind == "ms" else ""
                raise p.error(f"{a} compares with numbers{unit}, not {lit.text!r}", 0)
            if kind == "bool" and lit.text.lower() not in ("true", "false"):
                raise p.error(f"{a} is true or false, not {lit.text!r}", 0)
        if kind == "bool" and op not in ("==", "!="):
            raise p.error(f"{a} is true or false: use == or !=, not {op!r}", 0)


@lru_cache(maxsize=4096)
def parse_condition(text: str) -> Condition:
    """Parse one condition (cached: the same text is parsed once per process)."""
    if not isinstance(text, str):
        raise ConditionSyntaxError("a condition must be a string", str(text), 1)
    if len(text) > MAX_LENGTH:
        raise ConditionSyntaxError(
            f"a condition is limited to {MAX_LENGTH:,} characters (this one has {len(text):,})",
            text[:60] + "…",
            MAX_LENGTH + 1,
        )
    return _Parser(text).parse()


def parse_placeholder(text: str) -> Placeholder:
    """Parse a lone placeholder with its path, e.g. ``[BODY].token`` (what a capture reads)."""
    p = _Parser(text.strip())
    if not p.text.startswith("["):
        raise p.error("expected a placeholder such as [BODY].token", 0)
    found = p.placeholder()
    if p.i != len(p.text):
        raise p.error(f"unexpected text after {found}", p.i)
    return found
