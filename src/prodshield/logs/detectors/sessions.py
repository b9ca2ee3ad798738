"""sshd sessions: one failed login is logged several ways, and is counted once.

A failed password over ssh is one sshd process (one pid on one host) writing, in order::

    Invalid user admin from 203.0.113.7                     (an unknown user: the session opens)
    pam_unix(sshd:auth): check pass; user unknown
    pam_unix(sshd:auth): authentication failure; ... rhost=host.example.com
    Failed password for invalid user admin from 203.0.113.7 port 22 ssh2     (the attempt)
    Received disconnect from 203.0.113.7: ... Auth fail, PAM 2 more authentication failures ...

The security pack's rules say which line is which (``session:`` in ``rules/security.yaml``):
``attempt`` is sshd's own line for one attempt (``Failed password ... from IP``), ``mirror`` a line
logged before it about the same attempt (PAM's, ``Invalid user``), ``summary`` a line after the
attempts (a disconnect, ``PAM n more``). Per session: an attempt is counted, keyed by its address,
and takes the mirrors waiting before it; mirrors with no attempt after them (PAM logging alone, a
client gone before its password) are one attempt, counted when the session has been quiet for
``HORIZON_S`` of log time, when the same mirror comes again (a new attempt) or at the end of a scan,
keyed by the session's address when any of its lines gave one, else by the address an attempt
showed for the same PAM ``rhost`` name, else by that name; a summary is counted only for a session
that had no attempt. Lines of other programs, or without a pid, are counted one by one as before.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prodshield.logs.detectors.base import EventLike

HORIZON_S = 120.0
"""sshd's default LoginGraceTime: a session quiet this long (log time) has logged its attempt."""
ATTEMPT = -1
"""The pattern index a counted session attempt is reported with (brute force adds them up)."""
_SSHD = re.compile(r"(?:(\S+) )?(sshd(?:\([\w-]+\))?)\[(\d+)\]: ")

Count = Callable[[EventLike, Any, dict[str, str], int], bool]


@dataclass
class _Waiting:
    event: EventLike
    rule: Any
    groups: dict[str, str]
    index: int
    read_at: float = field(default_factory=time.monotonic)


@dataclass
class _Session:
    ip: str | None = None
    attempted: bool = False
    last: float = 0.0
    waiting: list[_Waiting] = field(default_factory=list)
    unpaired_at: float | None = None
    """The time (second) of its last attempt no mirror came before: PAM's line of the same
    second, written after it by a reordering relay, is that attempt's."""


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
"""A dotted quad as ``ipaddress`` takes it (0-255, no leading zero, ASCII digits)."""


def is_address(text: str | None) -> bool:
    """Whether ``text`` is an IP address (``ipaddress.ip_address`` takes it); a dotted quad is
    told by one regular expression (sshd's lines: most of them), an IPv6 address is one only
    with a colon."""
    if not text:
        return False
    if _IPV4.fullmatch(text) is not None:
        return True
    if ":" not in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def session_key(event: EventLike) -> tuple[str, str, str] | None:
    """(file, host, pid) of an sshd line (syslog/journald fields, else the line's own
    ``host sshd[pid]:``), None for any other line."""
    fields = event.fields or {}
    app, pid = fields.get("app"), fields.get("pid")
    if pid is not None and app is not None:
        if not str(app).startswith("sshd"):
            return None
        return (event.source, str(fields.get("host", "")), str(pid))
    text = (event.message or "")[:200]
    at = text.find("sshd")
    if at < 0:  # the pattern needs it (its search costs 40 µs on a line without it)
        return None
    # no match starts before the word ending at the space before the first "sshd" (its host)
    m = _SSHD.search(text, text.rfind(" ", 0, max(0, at - 1)) + 1)
    if m is None:
        return None
    return (event.source, m.group(1) or "", m.group(3))


class SshSessions:
    """Pairs the lines of one attempt within an sshd session (module docstring); ``count`` is
    the rule pack's: called once per attempt, with the line that stands for it."""

    def __init__(self, count: Count, max_keys: int) -> None:
        self._count = count
        self.max_keys = max(100, max_keys)
        self._sessions: OrderedDict[tuple[str, str, str], _Session] = OrderedDict()
        self._names: OrderedDict[str, str] = OrderedDict()
        """A PAM ``rhost`` name -> the address an attempt of the same session showed."""
        self._last_event: EventLike | None = None
        self.now = 0.0
        """The newest log time seen."""

    def offer(self, event: EventLike, rule: Any, groups: dict[str, str], index: int) -> bool:
        """Handle a security rule's match on an sshd line (True), or leave it to the caller
        (False: not an sshd session's line, or the rule has no ``session`` role)."""
        role = getattr(rule, "session", None)
        if role is None:
            return False
        key = session_key(event)
        if key is None:
            return False
        if self._last_event is event:
            return True  # one line, one role: the first session rule that matched it
        self._last_event = event
        now = event.timestamp.timestamp() if event.timestamp else None
        if now is not None:
            self.now = max(self.now, now)
            self.expire(self.now - HORIZON_S)
        session = self._session(key, now)
        ip = groups.get("ip")
        if is_address(ip):
            session.ip = ip
        if role == "attempt":
            self._attempt(session, event, rule, groups, now)
        elif role == "mirror":
            self._mirror(session, _Waiting(event, rule, groups, index), now)
        elif not session.attempted and not session.waiting:
            self._count_one(session, _Waiting(event, rule, groups, index))
            session.attempted = True
        return True

    def _session(self, key: tuple[str, str, str], now: float | None) -> _Session:
        session = self._sessions.get(key)
        if session is None:
            if len(self._sessions) >= self.max_keys:
                _, oldest = self._sessions.popitem(last=False)
                self._flush(oldest)
            session = self._sessions[key] = _Session()
        else:
            self._sessions.move_to_end(key)
        if now is not None:
            session.last = now
        return session

    def _attempt(
        self,
        session: _Session,
        event: EventLike,
        rule: Any,
        groups: dict[str, str],
        now: float | None,
    ) -> None:
        ip = groups.get("ip")
        if session.waiting:
            if is_address(ip):
                for waiting in session.waiting:
                    name = waiting.groups.get("ip")
                    if name and not is_address(name):
                        self._remember(name, str(ip))
            session.waiting.clear()
            session.unpaired_at = None
        else:
            session.unpaired_at = None if now is None else float(int(now))
        session.attempted = True
        self._count(event, rule, groups, ATTEMPT)

    def _mirror(self, session: _Session, waiting: _Waiting, now: float | None) -> None:
        if (
            session.unpaired_at is not None
            and now is not None
            and float(int(now)) == session.unpaired_at
        ):
            session.unpaired_at = None  # PAM's line of an attempt already counted
            return
        if any(w.rule is waiting.rule and w.index == waiting.index for w in session.waiting):
            self._flush(session)  # the same line again: a new attempt began
        session.waiting.append(waiting)

    def _flush(self, session: _Session) -> None:
        """The waiting mirrors, no attempt after them, as one attempt."""
        if session.waiting:
            first = next((w for w in session.waiting if w.rule.kind == "invalid_user"), None)
            self._count_one(session, first or session.waiting[0])
            session.waiting.clear()
            session.attempted = True

    def _count_one(self, session: _Session, waiting: _Waiting) -> None:
        groups = dict(waiting.groups)
        names = (w.groups.get("ip") for w in [waiting, *session.waiting])
        name = next((n for n in names if n), None)
        if session.ip:
            groups["ip"] = session.ip
        elif name:
            groups["ip"] = self._names.get(name, name)
        if "user" not in groups:
            users = (w.groups.get("user") for w in session.waiting)
            user = next((u for u in users if u), None)
            if user:
                groups["user"] = user
        self._count(waiting.event, waiting.rule, groups, ATTEMPT)

    def _remember(self, name: str, ip: str) -> None:
        self._names[name] = ip
        self._names.move_to_end(name)
        if len(self._names) > self.max_keys:
            self._names.popitem(last=False)

    def expire(self, before: float | None = None) -> None:
        """Count the waiting mirrors of the sessions quiet since ``before`` (every session's
        when None: the end of a scan) and let those sessions go."""
        sessions = self._sessions
        while sessions:
            key, session = next(iter(sessions.items()))
            if before is not None and session.last >= before:
                break
            del sessions[key]
            self._flush(session)

    def adopt(self, old: SshSessions) -> None:
        """Go on with ``old``'s sessions (the service's next epoch): lines waiting at the
        boundary count in the new epoch, through this one's ``count``."""
        self._sessions, self._names, self.now = old._sessions, old._names, old.now

    def settle(self) -> None:
        """What a window of the service (``findings()``) counts of the lines still waiting: a
        session's whose log time is ``HORIZON_S`` behind the newest line, or that was read
        ``HORIZON_S`` ago (a log gone quiet), or whose lines have no time (nothing to pair them
        by across windows: they count as they are)."""
        self.expire(self.now - HORIZON_S)
        read_before = time.monotonic() - HORIZON_S
        for session in self._sessions.values():
            waiting = session.waiting
            if waiting and (waiting[0].event.timestamp is None or waiting[0].read_at < read_before):
                self._flush(session)
