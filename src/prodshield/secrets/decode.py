"""Secrets in encoded forms: the text is decoded and the decoded form scanned, the finding keeping
the original file and line.

- JSON and Java ``\\uXXXX`` escapes (``"\\u0067hp_..."``), Java properties backslash escapes
  (``key\\=value``, ``pass\\:word``) in ``.properties`` files;
- URL encoding (``%2B``, ``%40``...), as in connection strings and query strings (not in
  ``.log``/``.gz`` files, where a logged token is matched as it is);
- base64 values under ``data:`` in a Kubernetes ``kind: Secret`` YAML manifest (each value is
  decoded and scanned as ``KEY: value``; a multi-line value, such as a PEM key or an .env file,
  as text).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote

from prodshield.secrets.finding import SecretFinding

_SECRET_KIND_B = re.compile(rb"^kind:[ \t]*[\"']?Secret\b", re.M)
_UNICODE = re.compile(r"\\u([0-9a-fA-F]{4})")
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_PROPERTIES = re.compile(r"\\([:=#! \\])")
# Only escapes of ASCII characters can hide a credential (tokens and rule literals are ASCII):
# lines whose escapes are all non-ASCII text ("\u00e9", "%C3%A9") or a URL space (%20) are not
# decoded, which keeps source trees full of test strings fast.
_UNICODE_MARK = re.compile(rb"\\u00[0-7][0-9a-fA-F]")
_PERCENT_MARK = re.compile(rb"%(?!20)[0-7][0-9a-fA-F]")
_PROPERTIES_ESCAPE = re.compile(rb"\\[:=#! ]")
# Log files: access logs are full of %XX; decoding every line would cost most of the scan time, and
# a token in a logged URL is matched as it is.
_LOG_NAME = re.compile(r"\.log(?:\.\d+)?(?:\.gz)?$|\.gz$")
_SECRET_KIND = re.compile(r"^kind:[ \t]*[\"']?Secret[\"']?[ \t]*$", re.M)
_DATA = re.compile(r"^(?P<indent>[ \t]*)(?:data|binaryData):[ \t]*$")
_ENTRY = re.compile(
    r"""^(?P<indent>[ \t]+)(?P<key>[\w.-]{1,253}):[ \t]*(?P<q>["']?)(?P<value>[A-Za-z0-9+/]{8,}={0,2})(?P=q)[ \t]*$"""
)

ScanText = Callable[[str], list[SecretFinding]]


def decode_line(line: str, path: str | None) -> tuple[str, str] | None:
    """(encoding, decoded line) when the line holds escapes or percent-encoding, else None."""
    decoded, used = line, list[str]()
    if "\\u" in decoded:
        text = _UNICODE.sub(_unicode_char, decoded)
        if text != decoded:
            decoded, used = text, [*used, "unicode-escape"]
    if path and path.endswith(".properties") and "\\" in decoded:
        text = _PROPERTIES.sub(lambda m: m.group(1), decoded)
        if text != decoded:
            decoded, used = text, [*used, "properties-escape"]
    if "%" in decoded and _PERCENT.search(decoded):
        try:
            text = unquote(decoded, errors="strict")
        except UnicodeDecodeError:
            text = decoded  # not UTF-8 once decoded: binary, not a credential
        if text != decoded:
            decoded, used = text, [*used, "url-encoding"]
    return ("+".join(used), decoded) if used else None


def _unicode_char(match: re.Match[str]) -> str:
    """The character of one ``\\uXXXX`` escape; a lone surrogate half stays escaped."""
    code = int(match.group(1), 16)
    return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)


def secret_manifest_values(text: str) -> Iterator[tuple[int, str, str]]:
    """(line offset, key, decoded value) for each base64 value under ``data:`` in the YAML
    documents of `text` whose kind is Secret. Values that are not base64 text are skipped."""
    offset = 0
    for document in re.split(r"(?m)^(?=---)", text):
        if _SECRET_KIND.search(document):
            yield from _data_values(document, offset)
        offset += document.count("\n")


def _data_values(document: str, offset: int) -> Iterator[tuple[int, str, str]]:
    data_indent: int | None = None
    for index, line in enumerate(document.split("\n")):
        data = _DATA.match(line)
        if data:
            data_indent = len(data.group("indent"))
            continue
        if data_indent is None:
            continue
        entry = _ENTRY.match(line)
        if entry is None or len(entry.group("indent")) <= data_indent:
            if line.strip() and len(line) - len(line.lstrip()) <= data_indent:
                data_indent = None  # the data map ended
            continue
        try:
            raw = base64.b64decode(entry.group("value"), validate=True)
            value = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if value.strip() and all(part.isprintable() for part in value.splitlines()):
            yield offset + index, entry.group("key"), value


def decoded_lines(block: bytes, *, path: str | None) -> list[tuple[int, str, str]]:
    """(line index in the block, encoding, decoded line) for each line holding escapes or
    percent-encoding. Each mark is looked for only when its literal is in the block
    (``bytes.find`` speed): most blocks hold none."""
    marks: list[re.Pattern[bytes]] = []
    if b"\\" in block and b"\\u00" in block:  # one memchr first: most blocks have no backslash
        marks.append(_UNICODE_MARK)
    if b"%" in block and not (path and _LOG_NAME.search(path)):
        marks.append(_PERCENT_MARK)
    if b"\\" in block and path and path.endswith(".properties"):
        marks.append(_PROPERTIES_ESCAPE)
    starts: set[int] = set()
    for pattern in marks:
        end = -1
        for match in pattern.finditer(block):
            if match.start() < end:
                continue  # this line is already marked
            starts.add(block.rfind(b"\n", 0, match.start()) + 1)
            end = block.find(b"\n", match.start())
            if end == -1:
                end = len(block)
    out: list[tuple[int, str, str]] = []
    index = position = 0
    for start in sorted(starts):
        index += block.count(b"\n", position, start)
        position = start
        end = block.find(b"\n", start)
        line = block[start : end if end != -1 else len(block)].decode("utf-8", "replace")
        result = decode_line(line.rstrip("\r"), path)
        if result is not None:
            out.append((index, *result))
    return out


def manifest_findings(
    block: bytes, *, path: str | None, first_line: int, scan_text: ScanText
) -> Iterator[SecretFinding]:
    """Findings in the decoded base64 values of the Kubernetes Secret manifests in a block
    (YAML files: ``*.yaml``, ``*.yml``, or text without a name)."""
    if path is not None and not path.endswith((".yaml", ".yml")):
        return
    if b"Secret" not in block or not _SECRET_KIND_B.search(block):
        return
    for index, key, value in secret_manifest_values(block.decode("utf-8", "replace")):
        body = value if "\n" in value.strip() else f"{key}: {value}"
        for finding in scan_text(body):
            yield located(finding, first_line + index, "base64")


def located(finding: SecretFinding, line: int, encoding: str) -> SecretFinding:
    """A finding in decoded text, moved to the encoded text's line."""
    snippet = f"({encoding} decoded) {finding.snippet}"
    return finding.with_location(line=line, snippet=snippet[:200])
