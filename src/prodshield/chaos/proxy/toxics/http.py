"""HTTP toxics: ``http_status`` and ``http_fail_first`` answer matching requests themselves,
``slow_headers`` makes their response headers late, ``oversized_headers`` (which reads the
responses instead) adds a header of a given size to them.

They read the HTTP/1.1 requests a client sends (the upstream stream, whatever ``stream`` says),
one after another on a keep-alive connection: the request line and headers are held until
complete, then either passed on with their body (``Content-Length`` or chunked) or answered with
the toxic's status and ``Connection: close``, and the connection is closed. A stream that is not
HTTP/1.x (or a header block over 64 KiB, an upgrade, ``CONNECT``) is passed through untouched
from there on. Requests pipelined behind an answered one are dropped with the connection.
"""

from __future__ import annotations

import functools
import http
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from prodshield.chaos.proxy.toxics.base import Attribute, BaseToxic, Chunk, Stage

MAX_HEAD = 64 << 10  # bytes of request line and headers held before giving up on parsing
MAX_LINE = 4 << 10  # bytes of a chunk-size line
_REQUEST_LINE = re.compile(rb"([A-Z]{1,20}) (\S{1,8192}) HTTP/1\.[01]\Z")
_MATCH_ATTRIBUTES = (
    Attribute("status", 503, int, "HTTP status answered to matching requests"),
    Attribute("method", "", str, "only requests with this method (empty: any)"),
    Attribute("path", "", str, "only request paths starting with this (empty: any)"),
    Attribute("path_regex", "", str, "only request paths matching this regular expression"),
)


@functools.lru_cache(maxsize=64)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _path_of(target: str) -> str:
    """The path (and query) of a request target; absolute-form targets lose scheme and host."""
    if "://" in target:
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        return rest[slash:] if slash >= 0 else "/"
    return target


def answer(status: int, type_name: str) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Injected"
    body = f"{status} {reason} (injected by the prodshield chaos proxy: {type_name})\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Prodshield-Toxic: {type_name}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _Request:
    """What a toxic decides on: the method, the path and the headers (lower-case names)."""

    __slots__ = ("headers", "method", "path")

    def __init__(self, method: str, path: str, headers: dict[str, str]) -> None:
        self.method = method
        self.path = path
        self.headers = headers


def _parse_head(head: bytes) -> _Request | None:
    lines = head.split(b"\r\n")
    match = _REQUEST_LINE.match(lines[0])
    if match is None:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            return None
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    method = match.group(1).decode("ascii")
    return _Request(method, _path_of(match.group(2).decode("latin-1")), headers)


_ANSWERED = b""  # what ``on_head`` returns when it answered the message itself (no head)


class Http1Framer(BaseToxic):
    """Follows the HTTP/1 messages of one stream: each head is handed to ``on_head`` whole, and
    the body it announces (``Content-Length`` or chunked, with trailers) is passed on unparsed.

    ``on_head`` returns the head to send on (changed or not) after setting ``state["mode"]`` (and
    ``state["left"]``) for the body, ``None`` when the stream is not HTTP/1 (it is then passed
    through untouched), or ``_ANSWERED`` when it answered and the rest of the stream is dropped.
    A head over ``MAX_HEAD`` or a chunk-size line over ``MAX_LINE`` also stops the parsing.
    """

    http: ClassVar[bool] = True
    # Requests may be preceded by a stray CRLF (passed on as it is); responses may not.
    skips_blank_line: ClassVar[bool] = False

    async def on_head(self, stage: Stage, head: bytes) -> bytes | None:
        raise NotImplementedError

    def attach(self, stage: Stage) -> None:
        stage.state.setdefault("mode", "head")  # head, body, chunk-size, chunk-data, trailer, raw
        stage.state.setdefault("buf", b"")
        stage.state.setdefault("left", 0)

    def detach(self, stage: Stage) -> None:
        held, stage.state["buf"] = stage.state.get("buf", b""), b""
        stage.give_back(held)

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        state = stage.state
        if chunk.eof or state["mode"] == "raw" or stage.removed:
            if state["buf"]:
                held, state["buf"] = state["buf"], b""
                await stage.emit(Chunk(held, chunk.time))
            await stage.emit(chunk)
            return
        data = state["buf"] + chunk.data
        state["buf"] = b""
        while data:
            mode = state["mode"]
            if mode == "raw":
                await stage.emit(Chunk(data, chunk.time))
                return
            if mode in ("head", "chunk-size", "trailer"):
                end = data.find(b"\r\n\r\n") if mode == "head" else data.find(b"\r\n")
                if end < 0:
                    if len(data) > (MAX_HEAD if mode == "head" else MAX_LINE):
                        state["mode"] = "raw"  # not HTTP as we know it: stop looking
                        continue
                    state["buf"] = data  # wait for the rest
                    return
                if mode == "head" and self.skips_blank_line and data.startswith(b"\r\n"):
                    await stage.emit(Chunk(data[:2], chunk.time))
                    data = data[2:]
                    continue
                cut = end + (4 if mode == "head" else 2)
                line, data = data[:cut], data[cut:]
                if mode == "head":
                    out = await self.on_head(stage, line)
                    if out is None:
                        state["mode"] = "raw"
                        data = line + data
                        continue
                    if not out:  # _ANSWERED
                        return
                    line = out
                elif mode == "chunk-size":
                    try:
                        size = int(line.split(b";", 1)[0].strip(), 16)
                    except ValueError:
                        state["mode"] = "raw"
                        data = line + data
                        continue
                    state["mode"], state["left"] = (
                        ("trailer", 0) if size == 0 else ("chunk-data", size + 2)
                    )
                elif line == b"\r\n":  # the empty line ending the trailer
                    state["mode"] = "head"
                await stage.emit(Chunk(line, chunk.time))
                continue
            # body or chunk-data: pass ``left`` bytes through
            piece, data = data[: state["left"]], data[state["left"] :]
            state["left"] -= len(piece)
            if state["left"] == 0:
                state["mode"] = "head" if mode == "body" else "chunk-size"
            await stage.emit(Chunk(piece, chunk.time))


class HttpToxic(Http1Framer):
    """The request reader shared by the HTTP toxics; subclasses decide in ``should_fail``."""

    skips_blank_line: ClassVar[bool] = True
    attributes: ClassVar[tuple[Attribute, ...]] = _MATCH_ATTRIBUTES

    def validate(self, attributes: Mapping[str, Any]) -> None:
        super().validate(attributes)
        status = attributes.get("status", 503)
        if not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status between 100 and 599")
        pattern = attributes.get("path_regex", "")
        if pattern:
            try:
                _regex(pattern)
            except re.error as exc:
                raise ValueError(f"path_regex is not a valid regular expression: {exc}") from None

    def matches(self, stage: Stage, request: _Request) -> bool:
        attrs = stage.attributes
        method = attrs.get("method", "")
        if method and request.method != method.upper():
            return False
        prefix = attrs.get("path", "")
        if prefix and not request.path.startswith(prefix):
            return False
        pattern = attrs.get("path_regex", "")
        return not (pattern and _regex(pattern).search(request.path) is None)

    def should_fail(self, stage: Stage, request: _Request) -> bool:
        return False

    async def before_pass(self, stage: Stage, request: _Request) -> None:
        """Called before a request that is not answered is passed on."""
        return None

    async def on_head(self, stage: Stage, head: bytes) -> bytes | None:
        request = _parse_head(head)
        if request is None:
            return None
        if self.should_fail(stage, request):
            stage.respond(answer(int(stage.attributes["status"]), self.type))
            return _ANSWERED
        await self.before_pass(stage, request)
        self._body_mode(stage.state, request)
        return head

    @staticmethod
    def _body_mode(state: dict[str, Any], request: _Request) -> None:
        headers = request.headers
        if request.method == "CONNECT" or "upgrade" in headers.get("connection", "").lower():
            state["mode"] = "raw"  # a tunnel or another protocol follows
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            state["mode"] = "chunk-size"
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                length = -1
            if length < 0:
                state["mode"] = "raw"
            elif length:
                state["mode"], state["left"] = "body", length
            else:
                state["mode"] = "head"


class HttpStatus(HttpToxic):
    type: ClassVar[str] = "http_status"
    example: ClassVar[dict[str, Any]] = {
        "type": "http_status",
        "attributes": {"status": 503, "path": "/api/"},
    }
    description: ClassVar[str] = (
        "Answer matching HTTP requests with status (each with probability toxicity) and close."
    )

    def should_fail(self, stage: Stage, request: _Request) -> bool:
        return self.matches(stage, request) and stage.random() < stage.toxicity


class HttpFailFirst(HttpToxic):
    type: ClassVar[str] = "http_fail_first"
    example: ClassVar[dict[str, Any]] = {
        "type": "http_fail_first",
        "attributes": {"count": 2, "status": 502},
    }
    description: ClassVar[str] = (
        "Answer the first count matching HTTP requests with status, then let them through."
    )
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("count", 1, int, "how many matching requests fail (over all connections)"),
        *_MATCH_ATTRIBUTES,
    )

    def should_fail(self, stage: Stage, request: _Request) -> bool:
        if not self.matches(stage, request):
            return False
        failed = stage.shared.get("failed", 0)
        if failed >= stage.attributes["count"]:
            return False
        stage.shared["failed"] = failed + 1
        return True


class SlowHeaders(HttpToxic):
    """The request is held ``delay`` ms before it goes on, so the response (headers first) starts
    that much later: a slow time to first byte, per request, on keep-alive connections too."""

    type: ClassVar[str] = "slow_headers"
    example: ClassVar[dict[str, Any]] = {"type": "slow_headers", "attributes": {"delay": 1500}}
    description: ClassVar[str] = (
        "Delay the response headers of matching HTTP requests by delay ms (with probability "
        "toxicity), by holding each request that long."
    )
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("delay", 1000, int, "milliseconds the response headers are late"),
        *(a for a in _MATCH_ATTRIBUTES if a.name != "status"),
    )

    async def before_pass(self, stage: Stage, request: _Request) -> None:
        if not self.matches(stage, request) or stage.random() >= stage.toxicity:
            return
        deadline = stage.now() + stage.attributes["delay"] / 1000.0
        while not stage.removed and not await stage.wait_until(deadline):
            deadline = min(deadline, stage.now() + stage.attributes["delay"] / 1000.0)


MAX_PADDING = 1 << 20  # the largest header oversized_headers adds (1 MiB)
_RESPONSE_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})(?: [^\r\n]*)?\Z")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}\Z")


class OversizedHeaders(Http1Framer):
    """Each HTTP/1.x response passing downstream gets one more header whose line is ``size``
    bytes (name, ``: ``, value of ``x``, CRLF), with probability ``toxicity`` per response.

    Responses are followed on keep-alive connections by ``Content-Length`` or chunked encoding;
    1xx, 204 and 304 have no body; one without either runs to the close. Anything that is not an
    HTTP/1.x response head (or a head over 64 KiB) is passed through untouched from there on.
    """

    type: ClassVar[str] = "oversized_headers"
    example: ClassVar[dict[str, Any]] = {
        "type": "oversized_headers",
        "attributes": {"size": 65536},
    }
    description: ClassVar[str] = (
        "Add a header of size bytes to HTTP responses (each with probability toxicity), so "
        "clients' header-size limits are exercised."
    )
    http_responses: ClassVar[bool] = True
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("size", 64 << 10, int, "bytes of the added header line (name, value, CRLF)"),
        Attribute("name", "X-Prodshield-Padding", str, "the added header's name"),
    )

    def validate(self, attributes: Mapping[str, Any]) -> None:
        super().validate(attributes)
        name = attributes.get("name", "X-Prodshield-Padding")
        if not _TOKEN.match(name):
            raise ValueError("name must be an HTTP header name (letters, digits, -; 1-64 long)")
        size = attributes.get("size", 64 << 10)
        if not len(name) + 5 <= size <= MAX_PADDING:
            raise ValueError(f"size must be between {len(name) + 5} and {MAX_PADDING} bytes")

    def _padding(self, stage: Stage) -> bytes:
        name = str(stage.attributes["name"]).encode("ascii")
        return name + b": " + b"x" * (int(stage.attributes["size"]) - len(name) - 4) + b"\r\n"

    async def on_head(self, stage: Stage, head: bytes) -> bytes | None:
        """The response head to send on (padded or not), setting the body mode; None: not HTTP."""
        state = stage.state
        first, _, rest = head.partition(b"\r\n")
        match = _RESPONSE_LINE.match(first)
        if match is None:
            return None
        status = int(match.group(1))
        headers: dict[str, str] = {}
        for line in rest.split(b"\r\n"):
            if line:
                name, sep, value = line.partition(b":")
                if not sep or not name or name != name.strip():
                    return None
                key = name.decode("latin-1").lower()
                headers[key] = headers.get(key, "") + "," + value.strip().decode("latin-1")
        if status == 101:
            state["mode"] = "raw"  # another protocol follows
        elif status < 200 or status in (204, 304):
            state["mode"] = "head"
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            state["mode"] = "chunk-size"
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"].strip(","))
            except ValueError:
                length = -1
            state["mode"], state["left"] = ("raw", 0) if length < 0 else ("body", length)
            if length == 0:
                state["mode"] = "head"
        else:
            state["mode"] = "raw"  # the body runs to the close
        if status < 200 or stage.random() >= stage.toxicity:
            return head
        return head[:-2] + self._padding(stage) + b"\r\n"
