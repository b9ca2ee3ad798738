"""sshd's session key (file, host, pid) of a line, read from where the line names ``sshd``: the same
key as the pattern searched over the whole line, without its search on lines that hold no
``sshd`` (40 µs each on a long line: the optional host token is tried at every position)."""

from __future__ import annotations

import random
import re

import pytest

from prodshield.logs.detectors import sessions
from prodshield.logs.detectors.sessions import _SSHD, session_key
from prodshield.logs.event import LogEvent


def _event(message: str) -> LogEvent:
    return LogEvent("auth.log", 1, None, None, message, {}, message)


def _whole_line(message: str) -> tuple[str, str, str] | None:
    m = _SSHD.search(message[:200])
    return None if m is None else ("auth.log", m.group(1) or "", m.group(3))


def test_the_host_is_the_word_before_sshd_even_when_an_earlier_word_holds_sshd() -> None:
    cases = {
        "Dec 10 07:07:38 LabSZ sshd[24206]: Failed password for root": ("LabSZ", "24206"),
        "xsshdy sshd[1]: Invalid user a": ("xsshdy", "1"),
        "sshd[7]: Invalid user a": ("", "7"),
        "host\tsshd[8]: Invalid user a": ("", "8"),
        "a  sshd(pam_unix)[9]: authentication failure": ("", "9"),
        "web1 sshd(pam_unix)[9]: authentication failure": ("web1", "9"),
        "sshd is up; gw sshd[3]: Accepted": ("gw", "3"),
        "su(pam_unix)[2]: authentication failure; rhost=sshd.example.com": None,
    }
    for message, want in cases.items():
        key = session_key(_event(message))
        assert key == (None if want is None else ("auth.log", *want)), message
        assert key == _whole_line(message), message


def test_the_key_is_the_whole_line_search_on_any_text() -> None:
    rng = random.Random(19)
    pieces = ["sshd", "sshd[12]: ", "sshd(pam_unix)[3]: ", " ", "\t", "x", "[", "]", "1", ": "]
    pieces += ["host", "\u00a0", "sshd(a-b)", "(", ")", "é"]
    for _ in range(20_000):
        message = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40)))
        assert session_key(_event(message)) == _whole_line(message), repr(message)


def test_a_line_without_sshd_is_not_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pattern is never run on a line that cannot hold it (its cost is measured in
    benchmarks/logs_follow.py, not here); one that names sshd is still searched."""
    searched: list[str] = []

    class Counting:
        def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
            searched.append(text)
            return _SSHD.search(text, pos)

    monkeypatch.setattr(sessions, "_SSHD", Counting())
    line = "Jul  1 09:01:05 calvisitor-10-105-160-95 " + "com.apple.CDScheduler[43]: x " * 6
    assert session_key(_event(line)) is None and searched == []
    assert session_key(_event("gw sshd[3]: Accepted")) == ("auth.log", "gw", "3")
    assert searched == ["gw sshd[3]: Accepted"]
