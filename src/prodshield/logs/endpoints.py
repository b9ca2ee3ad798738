"""Request lines (``GET /api/orders/42 HTTP/1.1``: the message of an access-log line) get their
endpoint as their template, not a Drain cluster.

Loghub's convention makes a whole path one variable; for an access log that leaves
``GET <*> <*>``, one template for a whole site. A request line's template here keeps the
endpoint, ``GET /api/orders/<*> HTTP/1.1``:

- each path segment is masked as a token is (a number, an id with digits, a hex hash, a UUID
  is a value; a name stays), every query value is a value, query keys stay;
- under one parent path, at most :data:`NAMES_PER_POSITION` distinct names are kept as the
  next segment (the API's resources, the site's pages): a name past them is a value (a blog's
  slugs, user names, a scanner's guesses); the names kept stay (their ids do not change);
- past ``MinerConfig.max_endpoints`` endpoints, or for a path longer than :data:`MAX_PATH`,
  the line's template is ``METHOD /<*> PROTOCOL``.

Endpoint clusters are never merged with other clusters or with each other: the template of an
endpoint is fixed when it is first seen.
"""

from __future__ import annotations

from collections.abc import Callable

from prodshield.logs.masking import WILDCARD

METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
PREFIXES = tuple(f"{method} /" for method in sorted(METHODS))
"""What a request line starts with (a cheap test before :func:`request_tokens`)."""
NAMES_PER_POSITION = 50
"""Distinct names kept as the segment after one parent path; later ones are values."""
MAX_PATH = 1024
"""Longer paths (a scanner's or an attack's) fold into ``/<*>``; so do paths of more than
:data:`MAX_SEGMENTS` segments."""
MAX_SEGMENTS = 32
MAX_NAME = 64
"""A longer segment is a value."""
MAX_NAMES = 20_000
"""Names kept in all (bounded memory whatever the requests); past it new names are values."""
PATH_CACHE = 20_000
"""Paths whose masks are remembered (paths of at most 256 characters)."""
FOLDED = "/" + WILDCARD


def request_tokens(message: str) -> list[str] | None:
    """The tokens of a request line (method, path, protocol if any); None for any other
    message."""
    if not message.startswith(PREFIXES):
        return None
    raw = message.split()
    n = len(raw)
    if n == 2 or (n == 3 and raw[2].startswith("HTTP/")):
        return raw
    return None


def is_endpoint(masked: tuple[str, ...]) -> bool:
    """Whether a masked sequence is a request line's (its cluster is an endpoint)."""
    n = len(masked)
    return (
        (n == 2 or (n == 3 and masked[2].startswith("HTTP/")))
        and masked[0] in METHODS
        and masked[1][:1] == "/"
    )


class EndpointMasker:
    """Masks request lines; ``mask_segment`` masks one path segment (the miner's token masker)."""

    def __init__(self, mask_segment: Callable[[str], str], cache_size: int) -> None:
        self._mask_segment = mask_segment
        self._cache_size = cache_size
        self._paths: dict[str, str] = {}
        # a parent path (its masked segments) -> the names kept as the segment after it
        self._names: dict[tuple[str, ...], set[str]] = {}
        self._kept = 0

    def masked(self, raw: list[str]) -> tuple[str, ...]:
        """The masked tokens of a request line (``raw``: from :func:`request_tokens`)."""
        path = raw[1]
        mask = self._paths.get(path)
        if mask is None:
            mask = self._mask_path(path)
            if len(path) <= 256:
                if len(self._paths) >= min(self._cache_size, PATH_CACHE):
                    self._paths.clear()
                self._paths[path] = mask
        return (raw[0], mask, *raw[2:])

    def _mask_path(self, path: str) -> str:
        if len(path) > MAX_PATH:
            return FOLDED
        path, mark, query = path.partition("?")
        parts = path.split("/")[1:]
        if len(parts) > MAX_SEGMENTS:
            return FOLDED
        mask = self._mask_segment
        segments = [(mask(s) if len(s) <= MAX_NAME else WILDCARD) if s else s for s in parts]
        self._names_to_values(segments)
        masked = "/" + "/".join(segments)
        if mark:
            masked += "?" + "&".join(self._mask_field(field) for field in query.split("&"))
        return masked

    def _mask_field(self, field: str) -> str:
        """A query field: its value is a value, its name a name (a field without ``=`` is
        masked as a token is)."""
        name, eq, value = field.partition("=")
        if eq:
            return f"{name}={WILDCARD}" if value else field
        if not field:
            return field
        return self._mask_segment(field) if len(field) <= MAX_NAME else WILDCARD

    def _names_to_values(self, segments: list[str]) -> None:
        """A name at a position where its parent path has kept enough names becomes a value
        (left to right: a parent is the segments before, as masked)."""
        names = self._names
        for i, segment in enumerate(segments):
            if not segment or WILDCARD in segment:
                continue
            parent = tuple(segments[:i])
            kept = names.get(parent)
            if kept is not None and segment in kept:
                continue
            if self._kept >= MAX_NAMES or (kept is not None and len(kept) >= NAMES_PER_POSITION):
                segments[i] = WILDCARD
                continue
            if kept is None:
                kept = names[parent] = set()
            kept.add(segment)
            self._kept += 1

    def remember(self, masked_path: str) -> None:
        """Count an endpoint's names as kept (a miner read back from its saved state)."""
        segments = masked_path.partition("?")[0].split("/")[1:]
        for i, segment in enumerate(segments):
            if segment and WILDCARD not in segment and self._kept < MAX_NAMES:
                kept = self._names.setdefault(tuple(segments[:i]), set())
                if len(kept) < NAMES_PER_POSITION and segment not in kept:
                    kept.add(segment)
                    self._kept += 1
