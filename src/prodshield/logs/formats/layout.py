"""Layouts from the web server's own configuration: an nginx ``log_format`` string or an Apache
``LogFormat`` string, compiled into a parser (a ``LogFormat``) for one source.

A source in shield.yaml names the string exactly as the server's config has it::

    - name: shop
      path: /var/log/nginx/shop.log
      log_format: '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time'

Each variable becomes a capture that runs up to the next literal character of the layout (inside
quotes, escaped quotes are allowed); known variables are mapped to the field names the detectors
read (``client_ip``, ``method``, ``path``, ``status``, ``duration_ms``, ``user_agent``...), the others
are kept under their own names.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prodshield.logs.formats.access import access_time
from prodshield.logs.formats.base import BaseFormat, Record, from_epoch, parse_iso, to_number


class LayoutError(ValueError):
    """A layout string that cannot be compiled (the message is one line)."""


# variable -> (field, kind); kinds: str, int, time_local, iso, request, seconds, micros, millis
_NGINX: dict[str, tuple[str, str]] = {
    "remote_addr": ("client_ip", "str"),
    "realip_remote_addr": ("client_ip", "str"),
    "binary_remote_addr": ("client_ip", "str"),
    "http_x_forwarded_for": ("forwarded_for", "str"),
    "remote_user": ("user", "str"),
    "time_local": ("time", "time_local"),
    "time_iso8601": ("time", "iso"),
    "msec": ("time", "epoch"),
    "request": ("request", "request"),
    "request_method": ("method", "str"),
    "request_uri": ("path", "str"),
    "uri": ("path", "str"),
    "document_uri": ("path", "str"),
    "server_protocol": ("protocol", "str"),
    "status": ("status", "int"),
    "body_bytes_sent": ("bytes", "int"),
    "bytes_sent": ("bytes", "int"),
    "http_referer": ("referer", "str"),
    "http_user_agent": ("user_agent", "str"),
    "request_time": ("duration_ms", "seconds"),
    "upstream_response_time": ("upstream_ms", "seconds"),
    "host": ("host", "str"),
    "server_name": ("host", "str"),
    "http_host": ("host", "str"),
}
_APACHE: dict[str, tuple[str, str]] = {
    "h": ("client_ip", "str"),
    "a": ("client_ip", "str"),
    "l": ("ident", "str"),
    "u": ("user", "str"),
    "t": ("time", "apache_time"),
    "r": ("request", "request"),
    "s": ("status", "int"),
    ">s": ("status", "int"),
    "<s": ("status", "int"),
    "b": ("bytes", "int"),
    "B": ("bytes", "int"),
    "O": ("bytes_out", "int"),
    "I": ("bytes_in", "int"),
    "D": ("duration_ms", "micros"),
    "T": ("duration_ms", "seconds"),
    "m": ("method", "str"),
    "U": ("path", "str"),
    "q": ("query", "str"),
    "H": ("protocol", "str"),
    "v": ("host", "str"),
    "V": ("host", "str"),
    "p": ("port", "int"),
    "P": ("pid", "int"),
}
_APACHE_HEADERS = {
    "referer": "referer",
    "user-agent": "user_agent",
    "x-forwarded-for": "forwarded_for",
}
_NGINX_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_APACHE_DIRECTIVE = re.compile(r"%(?:\{([^}]*)\})?([<>]?)(\w)")


@dataclass
class _Part:
    literal: str | None = None
    field: str | None = None
    kind: str = "str"


def _capture(next_literal: str | None, quoted: bool) -> str:
    if quoted:
        return r'(?:[^"\\]|\\.)*'
    if not next_literal:
        return r".*"
    c = next_literal[0]
    return rf"[^{re.escape(c)}]*" if c != " " else r"\S*"


class LayoutFormat(BaseFormat):
    """A parser compiled from a layout string; one instance per configured source."""

    multiline = False

    def __init__(self, name: str, layout: str, parts: list[_Part]) -> None:
        self.type = name
        self.description = f"layout {layout[:60]}"
        self.layout = layout
        self._fields: list[tuple[str, str, str]] = []  # (group, field, kind)
        pattern = ["^"]
        for i, part in enumerate(parts):
            if part.literal is not None:
                pattern.append(re.escape(part.literal))
                continue
            before = parts[i - 1].literal if i > 0 else None
            after = parts[i + 1].literal if i + 1 < len(parts) else None
            quoted = bool(before and before.endswith('"') and after and after.startswith('"'))
            group = f"g{i}"
            body = r"[^\]]*" if part.kind == "apache_time" else _capture(after, quoted)
            if part.kind == "apache_time":
                pattern.append(rf"\[(?P<{group}>{body})\]")
            else:
                pattern.append(f"(?P<{group}>{body})")
            self._fields.append((group, part.field or group, part.kind))
        pattern.append(r"\s*$")
        try:
            self._regex = re.compile("".join(pattern))
        except re.error as exc:  # pragma: no cover - built from escaped pieces
            raise LayoutError(f"cannot compile the layout: {exc}") from None

    def sniff(self, line: str) -> bool:
        return self._regex.match(line) is not None

    def parse(self, line: str) -> Record | None:
        m = self._regex.match(line)
        if m is None:
            return None
        fields: dict[str, Any] = {}
        timestamp: datetime | None = None
        request = None
        for group, name, kind in self._fields:
            value = m.group(group)
            if value is None or value in ("-", ""):
                continue
            if kind in ("time_local", "apache_time"):
                timestamp = access_time(value)
            elif kind == "iso":
                timestamp = parse_iso(value)
            elif kind == "epoch":
                timestamp = from_epoch(value)
            elif kind == "request":
                request = value
                parts = value.split(" ")
                if len(parts) >= 2:
                    fields["method"], fields["path"] = parts[0], parts[1]
                    if len(parts) >= 3:
                        fields["protocol"] = parts[2]
            elif kind == "int":
                number = to_number(value)
                fields[name] = int(number) if number is not None else value
            elif kind in ("seconds", "micros", "millis"):
                number = to_number(value.split(",")[-1].strip())
                if number is not None:
                    scale = {"seconds": 1000.0, "micros": 0.001, "millis": 1.0}[kind]
                    fields[name] = float(number) * scale
            else:
                fields[name] = value
        if request is None and ("method" in fields or "path" in fields):
            request = f"{fields.get('method', '-')} {fields.get('path', '-')}"
        status = fields.get("status")
        level = None
        if isinstance(status, int):
            level = "error" if status >= 500 else "warning" if status >= 400 else "info"
        return Record(message=request or line, timestamp=timestamp, level=level, fields=fields)


def compile_nginx(layout: str) -> LayoutFormat:
    """An nginx ``log_format`` string (the part after the format's name)."""
    parts: list[_Part] = []
    pos = 0
    text = _unquote(layout)
    for m in _NGINX_VAR.finditer(text):
        if m.start() > pos:
            parts.append(_Part(literal=text[pos : m.start()]))
        name = m.group(1) or m.group(2)
        field, kind = _NGINX.get(name, (name, "str"))
        parts.append(_Part(field=field, kind=kind))
        pos = m.end()
    if pos < len(text):
        parts.append(_Part(literal=text[pos:]))
    _check(parts, layout, "$variable")
    return LayoutFormat("nginx-log_format", layout, parts)


def compile_apache(layout: str) -> LayoutFormat:
    """An Apache ``LogFormat`` string (``%h %l %u %t \\"%r\\" %>s %b``)."""
    parts: list[_Part] = []
    pos = 0
    text = _unquote(layout).replace('\\"', '"')
    for m in _APACHE_DIRECTIVE.finditer(text):
        if m.start() > pos:
            parts.append(_Part(literal=text[pos : m.start()]))
        arg, modifier, letter = m.group(1), m.group(2), m.group(3)
        if letter == "i" and arg:
            header = arg.lower()
            parts.append(
                _Part(field=_APACHE_HEADERS.get(header, "header_" + header.replace("-", "_")))
            )
        elif letter == "T" and arg in ("ms", "us", "s"):
            kind = {"ms": "millis", "us": "micros", "s": "seconds"}[arg]
            parts.append(_Part(field="duration_ms", kind=kind))
        else:
            field, kind = _APACHE.get(
                modifier + letter, _APACHE.get(letter, (f"apache_{letter}", "str"))
            )
            parts.append(_Part(field=field, kind=kind))
        pos = m.end()
    if pos < len(text):
        parts.append(_Part(literal=text[pos:]))
    _check(parts, layout, "%directive")
    return LayoutFormat("apache-LogFormat", layout, parts)


def _unquote(layout: str) -> str:
    text = layout.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and text.count(text[0]) == 2:
        text = text[1:-1]
    return text


def _check(parts: list[_Part], layout: str, what: str) -> None:
    if not any(p.field for p in parts):
        raise LayoutError(f"no {what} in the layout {layout[:60]!r}")
    for a, b in itertools.pairwise(parts):
        if a.field and b.field:
            raise LayoutError(
                f"two variables with nothing between them in {layout[:60]!r}: cannot tell "
                "where one ends"
            )


def compile_layout(source: Any) -> LayoutFormat | None:
    """The compiled layout of a configured ``LogSource``, or None when it names a format."""
    if getattr(source, "log_format", None):
        return compile_nginx(source.log_format)
    if getattr(source, "apache_format", None):
        return compile_apache(source.apache_format)
    return None
