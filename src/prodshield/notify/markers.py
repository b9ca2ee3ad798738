"""Hidden thread markers that text from outside cannot forge.

A provider that keeps no local state (GitHub) finds its own issue and comments again by a hidden
marker: ``<!-- prodshield:subject=SUBJECT sig=HMAC -->`` in an issue body, ``<!-- prodshield:event=KEY
sig=HMAC -->`` in a comment. The signature is an HMAC-SHA256 of the marker's kind and value under a
per-installation key: the ``marker_key`` of the notifier's config when set (one key for every
machine and workflow run that shares a repository), otherwise a random key created in the store's
``kv`` table at first use. Without the key, a marker copied into a log line names nothing; and a
provider also breaks every ``<!--`` in the text it sends (`prodshield.text.neutralise_markers`), so
even a genuine marker replayed from a public issue never reaches a body as a marker.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from urllib.parse import quote, unquote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from prodshield.store import tables as t
from prodshield.store.store import Store

KV_NAMESPACE = "notify"
KV_KEY = "marker_key"

_MARKER = re.compile(r"<!-- prodshield:(subject|event)=(\S{1,800}) sig=([0-9a-f]{32}) -->")


def thread_key(store: Store) -> bytes:
    """This installation's marker key, created (once, race-free across instances) at first use."""
    key = store.kv_get(KV_NAMESPACE, KV_KEY)
    if isinstance(key, str) and key:
        return key.encode()
    fresh = secrets.token_hex(32)
    try:
        with store.begin() as conn:
            conn.execute(
                t.kv.insert().values(
                    namespace=KV_NAMESPACE, key=KV_KEY, value=fresh, updated_at=time.time()
                )
            )
    except IntegrityError:  # another instance created it first: use theirs
        pass
    with store.connect() as conn:
        value = conn.execute(
            select(t.kv.c.value).where(t.kv.c.namespace == KV_NAMESPACE, t.kv.c.key == KV_KEY)
        ).scalar_one()
    return str(value).encode()


def _sig(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()[:32]


def marker(kind: str, value: str, key: bytes) -> str:
    """The hidden marker naming ``value`` (a subject or an event key)."""
    if not key:
        raise ValueError("a marker needs a key")
    return f"<!-- prodshield:{kind}={quote(value, safe=':@/._+=')} sig={_sig(key, kind, value)} -->"


def markers_in(text: str, key: bytes) -> set[tuple[str, str]]:
    """The (kind, value) pairs of the correctly signed markers in ``text``."""
    found: set[tuple[str, str]] = set()
    if "prodshield:" not in text:
        return found
    for kind, raw, sig in _MARKER.findall(text):
        value = unquote(raw)
        if hmac.compare_digest(sig, _sig(key, kind, value)):
            found.add((kind, value))
    return found


__all__ = ["marker", "markers_in", "thread_key"]
