"""Text from outside, made safe for where it goes: a terminal, GitHub Markdown, Slack.

Log lines, target answers and audited files are untrusted (docs/security.md). Secrets are masked
by `prodshield.secrets.redaction.redact_text`; this module is the other half, shared by every layer
(it imports nothing from prodshield):

- `for_terminal`: the one sanitiser for text the CLI prints, and `for_page` the same for text an
  HTML page shows (the dashboard, the status page, the digest page): each control character (C0
  but tab and newline, DEL, C1, so every ESC that starts an ANSI sequence) and each bidirectional
  override or isolate is shown as a visible, inert mark (`CONTROL_MARKS`, one mapping for both:
  ``␁``, ``␛``, ``\ufffd`` for a C1 control or an override) instead of acting or being removed:
  a log line cannot retitle the terminal, clear the screen, write the clipboard, fake colours or
  reverse what follows it (Trojan Source), and its reader still sees that it was tampered with
  (``user=␛[2Jroot``, where a removal showed ``user=[2Jroot``). A page keeps carriage returns and
  Markup keeps its tags; `one_line`: the terminal's form for one cell (a line break as ``␤``).
- `for_header`: the same marks for one header line (an email Subject, ntfy's Title), whitespace
  runs and line breaks one space; `needs_encoded_word`: whether it must go RFC 2047 encoded.
- `clip`: a size cap for outside text that says how much was cut (a note already in the text is
  not believed, and shown as ``...``); `reclip` the same for text prodshield cut before (its note
  counted on); `clip_bytes` the same in UTF-8 bytes.
- `fence` / `code_span`: outside text as literal Markdown (a fence longer than any backtick run
  inside), `neutralise_mentions`: ``@name`` outside code can no longer notify anyone,
  `neutralise_markers`: an HTML comment opener from outside cannot pose as one of prodshield's own
  hidden markers; `neutralise_links`: a Markdown link from outside (``[docs](https://evil)``)
  stays text showing its real address.
- `md_text` / `md_code`: outside text as inert inline Markdown (every special character escaped)
  or as a code span, on one line with marks: what a report table or an issue's sentence quotes.
- `chat_markdown`: the same for Discord and Teams (mentions, links, a size cap).
- `uri_path`: a file path as a URI reference (SARIF), percent-encoded bytes.
- `slack_escape`: Slack's three escapes (``&``, ``<``, ``>``), so ``<!channel>`` or a disguised
  link ``<http://evil|docs>`` from a log line stays text.
- `plural`: a count and its noun in English (``1 file``, ``2 files``, ``2 chaos proxies``).
- `loads_json`: JSON from a client, bounded in nesting (a ``ValueError``, never a
  ``RecursionError`` that would become a 500), its unpaired surrogate escapes (``"\\ud800"``, text
  no UTF-8 encoder takes) turned into U+FFFD so that they cannot break the store, a page or a
  later JSON answer.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What a terminal may not receive: C0 controls but tab and newline (a carriage return would let
a line overwrite its own start), DEL, C1 controls, bidirectional overrides and isolates."""
_PAGE_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What a page may not carry (a carriage return may: HTML shows it as a line break)."""

CONTROL_MARKS = {
    **{chr(c): chr(0x2400 + c) for c in range(0x20)},  # C0: its control picture (\x01 -> ␁)
    "\x7f": "\u2421",  # DEL: ␡
}
"""What a terminal, a page, a header or a Markdown report shows for a control character: C0
controls and DEL their Unicode control pictures (``␁``, ``␛``, ``␡``); C1 controls and
bidirectional overrides and isolates, which have none, ``\ufffd`` (�). Visible and inert: a
reader sees that the line held something, wherever they read it."""


def _mark(match: re.Match[str]) -> str:
    return CONTROL_MARKS.get(match.group(0), "\ufffd")


def for_terminal(text: object) -> str:
    """``text`` for the CLI to print: each control character but tab and newline, and each
    bidirectional override or isolate, shown as its mark (`CONTROL_MARKS`, as a page shows it:
    ``user=\x1b[2Jroot`` reads ``user=␛[2Jroot``), so it neither acts (clears the screen,
    retitles the terminal, writes the clipboard, fakes colours, reverses the rest of the line)
    nor goes unseen; a lone surrogate (a file name's byte that is not UTF-8, ``\udcff``) as
    U+FFFD: written as it was, it made the output invalid UTF-8 for whatever reads it."""
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():
        return s
    if _SURROGATE.search(s):
        s = _SURROGATE.sub("\ufffd", s)
    return _TERMINAL_CONTROLS.sub(_mark, s)


def for_page(value: Any) -> Any:
    """``value`` for an HTML page: each control character (but tab, newline and carriage return)
    and bidirectional override shown as a visible, inert mark (``CONTROL_MARKS``: ``nul\x01y`` reads
    ``nul␁y``, an escape sequence ``␛[31m``), so it neither acts (a U+202E would reverse the rest
    of its row) nor goes unseen; HTML already made (a ``Markup``: rendered Markdown, an SVG) only
    has those characters replaced, so its tags stay whole. Other values as they are (Jinja's
    ``finalize``)."""
    if not isinstance(value, str) or not _PAGE_CONTROLS.search(value):
        return value
    return type(value)(_PAGE_CONTROLS.sub(_mark, value))


def controls_out(page: str) -> str:
    """An HTML page (or part) with each control character (but tab, newline and carriage return)
    and bidirectional override shown as its mark (see ``for_page``): only those characters
    change, so the tags stay whole."""
    return _PAGE_CONTROLS.sub(_mark, page) if _PAGE_CONTROLS.search(page) else page


def for_header(text: str, limit: int = 250) -> str:
    """Outside text for one header line (an email ``Subject``, ntfy's ``Title``): control
    characters shown as their marks (`controls_out`, as in the body), every run of whitespace
    (line breaks included, so no header injection) one space, at most ``limit`` characters. The
    caller still encodes it for its header when `needs_encoded_word`."""
    return " ".join(controls_out(text).split())[:limit]


def needs_encoded_word(header: str) -> bool:
    """Whether a header line must be sent RFC 2047 encoded: it is not plain ASCII (a mark is
    not), or it holds ``=?``: outside text shaped like an encoded word (``=?UTF-8?B?Gw==?=`` is an
    ESC), sent as it is, would be decoded by the reader into what it hides."""
    return not header.isascii() or "=?" in header


_CUT_NOTE = re.compile(r"…\[(\d{1,3}(?:,\d{3})*) more characters\]\Z")
_FORGED_MARK = "..."
"""What a cut note's ``…`` becomes when the note was in the text itself (see `clip`)."""


def cut_note(text: str) -> tuple[int, int, int, int] | None:
    """Where a cut note ends ``text`` (``…[98,029 more characters]``): the ``…``'s index, the
    number's start and end, and the number; None without one."""
    if "more char" not in text:
        return None
    note = _CUT_NOTE.search(text, max(0, len(text) - 40))
    if note is None:
        return None
    return note.start(), note.start(1), note.end(1), int(note.group(1).replace(",", ""))


def clip(text: str, limit: int) -> str:
    """Outside text (a log line, an answer, a file's text) at most ``limit`` characters; a cut
    text ends with how many it left out, counted from ``text`` itself (a limit too short for
    that note: the first ``limit`` characters alone). A note of that shape already at the end of
    ``text`` is the writer's, not prodshield's: it is not believed, and when it stays (``text``
    fits) its ``…`` is shown as ``...``, so neither this cut nor a later `reclip` can be told by
    a log line how much was cut. Text prodshield has cut before: `reclip`."""
    if len(text) <= limit:
        note = _CUT_NOTE.search(text, max(0, len(text) - 40)) if "more char" in text else None
        if note is None:
            return text
        marked = text[: note.start()] + _FORGED_MARK + text[note.start() + 1 :]
        if len(marked) <= limit:
            return marked
    return _cut(len(text), limit, "characters", lambda keep: text[:keep], len)


def reclip(text: str, limit: int) -> str:
    """`clip` for a text prodshield cut before (a stored message or sample, a template, what a
    page or a later report shows of them): a cut note at its end is prodshield's own (outside
    text went through `clip` first, which marks a note it did not write), so a further cut
    counts what the earlier one left out too, and the note is always about the original line,
    however often it was cut."""
    if len(text) <= limit:
        return text
    note = _CUT_NOTE.search(text, max(0, len(text) - 40))
    if note is None:
        return _cut(len(text), limit, "characters", lambda keep: text[:keep], len)
    head = text[: note.start()]
    size = len(head) + int(note.group(1).replace(",", ""))
    return _cut(size, limit, "characters", lambda keep: head[:keep], len)


def clip_bytes(text: str, limit: int) -> str:
    """At most ``limit`` bytes once UTF-8 encoded (a service counting bytes: ntfy), never
    cutting a character in two; a cut text ends with how many bytes it left out."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return _cut(
        len(raw),
        limit,
        "bytes",
        lambda keep: raw[:keep].decode(errors="ignore"),
        lambda s: len(s.encode()),
    )


def _cut(
    size: int, limit: int, unit: str, head: Callable[[int], str], measure: Callable[[str], int]
) -> str:
    """``head(keep)`` and a note saying how much of ``size`` it left out, within ``limit``."""
    keep = limit
    for _ in range(3):  # the note's length depends on the number it holds
        note = f"…[{size - keep:,} more {unit}]"
        keep = limit - measure(note)
        if keep < 0:
            return head(limit)
    kept = head(keep)
    return kept + f"…[{size - measure(kept):,} more {unit}]"


_BACKTICKS = re.compile(r"`+")
_TILDES = re.compile(r"~+")


def fence(text: str, info: str = "text") -> str:
    """``text`` as a fenced code block: the fence is longer than any run of backticks inside,
    so nothing in ``text`` can close it early."""
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(text)), default=0)
    bar = "`" * max(3, longest + 1)
    return f"{bar}{info}\n{text.rstrip(chr(10))}\n{bar}"


def code_span(text: str) -> str:
    """``text`` as inline code on one line (a span delimited by more backticks than it holds)."""
    flat = " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text
    if not flat:
        return ""
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(flat)), default=0)
    bar = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or longest else ""
    return f"{bar}{pad}{flat}{pad}{bar}"


_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")
_ZWJ = "\u200d"


def _outside_code(markdown: str, fix: re.Pattern[str], repl: str) -> str:
    """Apply ``fix`` to the parts of ``markdown`` outside fences and code spans."""
    out: list[str] = []
    fence_bar: str | None = None
    for line in markdown.split("\n"):
        m = _FENCE_LINE.match(line)
        if fence_bar is None:
            if m:
                fence_bar = m.group(1)
                out.append(line)
                continue
            parts = re.split(r"(`+[^`]*?`+)", line)
            out.append("".join(p if p.startswith("`") else fix.sub(repl, p) for p in parts))
        else:
            closes = m and m.group(1)[0] == fence_bar[0] and len(m.group(1)) >= len(fence_bar)
            if closes and not line.strip().strip(fence_bar[0]):
                fence_bar = None
            out.append(line)
    return "\n".join(out)


def neutralise_mentions(markdown: str) -> str:
    """``@name`` outside code gets a zero-width joiner after the ``@``: shown the same, notifies
    no one (GitHub links a mention only when the name follows the ``@`` directly)."""
    if "@" not in markdown:
        return markdown
    return _outside_code(markdown, _MENTION, "@" + _ZWJ)


_MARKER_OPEN = re.compile(r"<!--")


def neutralise_markers(text: str) -> str:
    """Break every HTML comment opener in text from outside (``<!--`` -> ``<!\u200b--``), so it
    can neither hide text nor pose as a hidden marker."""
    return _MARKER_OPEN.sub("<!\u200b--", text) if "<!--" in text else text


def neutralise_links(markdown: str) -> str:
    """A Markdown link from outside text (``[click](https://evil)``) shown as typed: a zero-width
    space between ``]`` and ``(`` (Discord, Teams and GitHub render a link only when they touch),
    so a label cannot hide where the link goes."""
    return markdown.replace("](", "]\u200b(")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def md_text(text: str) -> str:
    """Outside text as inert inline Markdown (a table cell, a sentence of an issue or a pull
    request comment): one line, control characters as marks (`controls_out`), every Markdown and
    HTML special character backslash-escaped, so no link, image, tag, emphasis or code starts in
    it and a ``|`` cannot end a table cell; ``@mentions`` get a zero-width joiner (GitHub links a
    mention after a backslash too) and ``<!--`` is broken (`neutralise_markers`)."""
    flat = " ".join(controls_out(unpaired_out(text)).split())
    flat = _MENTION.sub("@" + _ZWJ, neutralise_markers(flat))
    return _MD_SPECIAL.sub(r"\\\1", flat)


def md_code(text: str, *, in_table: bool = False) -> str:
    """Outside text as one inline code span (a file name, a value): one line, control
    characters as marks, ``<!--`` broken; ``in_table``: its ``|`` escaped as a GitHub table cell
    needs (elsewhere a backslash in a code span would show)."""
    span = code_span(" ".join(controls_out(unpaired_out(neutralise_markers(text))).split()))
    return span.replace("|", "\\|") if in_table else span


def chat_markdown(text: str, limit: int) -> str:
    """Outside text for a chat service that reads Markdown (Discord, Teams), its control
    characters already marks: mentions neutralised, a link shown with its real address
    (`neutralise_links`), at most ``limit`` characters."""
    return clip(neutralise_links(neutralise_mentions(text)), limit)


def uri_path(path: str) -> str:
    """A relative file path as a URI reference (SARIF's ``artifactLocation.uri``): each byte
    outside the unreserved set percent-encoded (``a b#1.env`` -> ``a%20b%231.env``: raw, a ``#``
    starts a fragment), a byte of a name that is not UTF-8 as itself (``\\udcff`` -> ``%FF``)
    instead of a lone surrogate escape that strict JSON readers refuse."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def slack_escape(text: str) -> str:
    """Slack's escaping for text: ``&``, ``<`` and ``>`` as entities (control sequences such as
    ``<!channel>`` and ``<url|label>`` then show as typed)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


MAX_JSON_DEPTH = 32


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON escape of a surrogate (paired ones are joined by the decoder; a lone one stays)."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def unpaired_out(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys included) replaced by U+FFFD: an
    unpaired JSON escape (``"\\ud800"``), or a byte that is not UTF-8 in a file name
    (``os.fsdecode`` makes it ``\\udcff``); no UTF-8 encoder takes either."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, list):
        return [unpaired_out(v) for v in value]
    if isinstance(value, dict):
        return {unpaired_out(k): unpaired_out(v) for k, v in value.items()}
    return value


PATH_KEYS = frozenset({"path", "file", "source"})
"""Keys whose text names a file in the JSON prodshield writes (an audit finding's ``path``, a log
finding's ``source.file``, an event's ``source``): `json_ready` keeps such a name exactly."""


def json_ready(value: Any) -> Any:
    """``value`` for a JSON document prodshield writes (``--format json``, ``logs parse``'s
    lines, report files): valid UTF-8 JSON that strict readers take. A lone surrogate (a byte of
    a file name that is not UTF-8, ``os.fsdecode`` makes ``\\xff`` into ``\\udcff``; written
    as is, it is the escape ``"\\udcff"`` that strict parsers refuse) becomes U+FFFD in the text,
    as pages and notifications show it; a file name (a ``PATH_KEYS`` key) that lost bytes so
    also gets its exact form beside it, ``<key>_uri``: the name as a URI reference with its
    bytes percent-encoded (`uri_path`, as SARIF's ``artifactLocation.uri``: ``x\\udcff.env``
    -> ``"path": "x\ufffd.env", "path_uri": "x%FF.env"``). Names that are UTF-8 get no such
    key. ``value`` itself when it holds no surrogate."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[Any, Any] = {}
    for key, item in value.items():
        shown = json_ready(item)
        out[json_ready(key)] = shown
        if key in PATH_KEYS and isinstance(item, str) and shown is not item:
            exact = _exact_uri(item)
            if exact is not None:
                out[f"{key}_uri"] = exact
    return out


def _exact_uri(name: str) -> str | None:
    """``name`` percent-encoded (`uri_path`); None when a surrogate in it is no byte (a lone
    ``\\ud800`` from JSON: nothing exact to keep)."""
    try:
        return uri_path(name)
    except UnicodeEncodeError:
        return None


def dumps_json(value: Any, *, indent: int | None = 2) -> str:
    """``json.dumps`` of `json_ready` ``value`` (other objects as their ``str``)."""
    return json.dumps(json_ready(value), indent=indent, default=str)


def loads_json(raw: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for JSON from outside: nesting deeper than ``max_depth`` is a ValueError;
    an unpaired surrogate escape (``"\\ud800"``) becomes U+FFFD (kept, it would make every later
    encoding of the text fail: the store, a JSON answer, a page)."""
    too_deep = f"JSON nested deeper than {max_depth} levels"
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValueError(too_deep) from None
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                raise ValueError(too_deep)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in children if isinstance(v, dict | list))
    return surrogates_out(data, raw)  # nesting is bounded above: its recursion is too


def surrogates_out(data: Any, raw: str | bytes) -> Any:
    """``data`` (decoded from the JSON text ``raw``) with its unpaired surrogates, which no UTF-8
    encoder takes (the store, a JSON answer, a page), as U+FFFD; ``data`` itself when ``raw``
    escapes no surrogate (the common case costs one search)."""
    text = raw if isinstance(raw, str) else raw.decode("latin-1")
    if _SURROGATE_ESCAPE.search(text) or _SURROGATE.search(text):
        return unpaired_out(data)
    return data


__all__ = [
    "chat_markdown",
    "clip",
    "clip_bytes",
    "code_span",
    "controls_out",
    "dumps_json",
    "fence",
    "for_header",
    "for_page",
    "for_terminal",
    "json_ready",
    "loads_json",
    "md_code",
    "md_text",
    "needs_encoded_word",
    "neutralise_links",
    "neutralise_markers",
    "neutralise_mentions",
    "reclip",
    "slack_escape",
    "surrogates_out",
    "unpaired_out",
    "uri_path",
]


UPTIME_DIGITS = 6
"""Decimals an uptime is kept to (the aggregates, the API, reports); :func:`percent` rounds it
once more, half up, to 2. Kept to 3, 99.95495 became 99.955 and then 99.96 %, where it is
99.95 %."""


def percent(value: float | None, none: str = "-") -> str:
    """An uptime or a rate for people: ``99.955`` -> ``99.96%``, half up from the value's decimal
    text. The aggregates already round to 3 decimals, and ``f"{99.955:.2f}"`` gives ``99.95``
    (the float is 99.95499...), so a second binary rounding showed 99.9551 % as 99.95 %."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return none
    return f"{Decimal(repr(value)).quantize(_CENT, rounding=ROUND_HALF_UP)}%"


_CENT = Decimal("0.01")


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 notifier``, ``2 notifiers``, ``1 chaos proxy``, ``2 chaos proxies``."""
    if n == 1:
        return f"{n} {word}"
    if many is None:
        many = (
            word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
        )
    return f"{n} {many}"


def shell_word(text: str) -> str:
    """``text`` (an audited file's name) as one word of a shell command a user may paste: quoted
    (``a b;touch x`` -> ``'a b;touch x'``), and when it holds a newline or another control
    character, in bash's ``$'...'`` quoting with that character escaped (``$'evil\\nname.env'``),
    so the command stays on one line and shows what it names."""
    if text.isprintable():
        return shlex.quote(text)
    out = []
    for ch in text:
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif ord(ch) < 0x100 or 0xDC80 <= ord(ch) <= 0xDCFF:  # the latter: a byte not UTF-8
            out.append(f"\\x{ord(ch) & 0xFF:02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return "$'" + "".join(out) + "'"


_C_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: object) -> str:
    """Outside text that names one thing (a file name, a table cell) for a terminal line:
    ``for_terminal`` (a carriage return is ``␍`` there already), and a newline shown as ``␤``
    instead of breaking the line, so the name reads as one."""
    s = for_terminal(text)
    return s.replace("\n", "\u2424") if "\n" in s else s
