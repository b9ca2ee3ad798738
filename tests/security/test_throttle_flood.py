"""The token throttle under a flood of client addresses: it cleared every count once it tracked
10,000 clients, so an attacker holding that many IPv6 /64s wiped its own count (and every other
offender's) whenever it liked. Now a newcomer pushes out one client, the least recent, offenders
last, and the memory stays bounded."""

from __future__ import annotations

from prodshield.web.security import MAX_TRACKED_CLIENTS, TOKEN, FailureLog, Guard

OFFENDER = "2001:db8:ffff:1::7"


def _sixty_four(n: int) -> str:
    """The ``n``-th of many distinct IPv6 /64s."""
    return f"2001:db8:{n >> 16:x}:{n & 0xFFFF:x}::1"


def test_a_flood_of_new_64s_does_not_reset_an_offenders_count() -> None:
    guard = Guard("t" * 32)
    now = 1_000_000.0
    for _ in range(guard.max_failures):
        guard.failed(OFFENDER, now=now)
    assert guard.throttled(OFFENDER, now)
    for n in range(MAX_TRACKED_CLIENTS + 500):  # one wrong token from each of many /64s
        guard.failed(_sixty_four(n), now=now + 1)
    assert guard.throttled(OFFENDER, now + 2)
    assert not guard.throttled(OFFENDER, now + 61)  # its minute still ends as before
    # the flood's most recent clients are still counted, the memory is bounded
    assert guard._failures.count((TOKEN, "2001:db8:0:2100::/64"), now + 2) == 1  # n = 0x2100
    assert len(guard._failures) <= MAX_TRACKED_CLIENTS


def test_newcomers_push_out_the_least_recent_clients_offenders_last() -> None:
    log = FailureLog(limit=3, window=60.0)
    log.add(("t", "a"), 0.0, 2)
    log.add(("t", "a"), 1.0, 2)  # a: an offender (2 of 2)
    log.add(("t", "b"), 2.0, 2)
    log.add(("t", "c"), 3.0, 2)
    log.add(("t", "d"), 4.0, 2)  # full: b, the least recent under the threshold, goes
    assert [log.count(("t", k), 5.0) for k in "abcd"] == [2, 0, 1, 1]
    log.add(("t", "c"), 6.0, 2)  # c: an offender too
    log.add(("t", "e"), 7.0, 2)  # d goes (the only one under the threshold)
    log.add(("t", "f"), 8.0, 2)  # all offenders but e: e goes
    assert [log.count(("t", k), 9.0) for k in "acdef"] == [2, 2, 0, 0, 1]
    log.add(("t", "f"), 9.0, 2)
    log.add(("t", "g"), 10.0, 2)  # every one an offender: the least recent (a) goes
    assert [log.count(("t", k), 11.0) for k in "acfg"] == [0, 2, 2, 1]
    assert len(log) == 3
    log.add(("t", "h"), 70.0, 2)  # c's and f's minutes ended: expired clients go first
    assert [log.count(("t", k), 70.0) for k in "cfgh"] == [0, 0, 1, 1]


def test_a_client_keeps_no_more_times_than_the_threshold() -> None:
    log = FailureLog(limit=10)
    for i in range(1000):
        log.add(("t", "a"), float(i) / 100, 10)
    assert log.count(("t", "a"), 10.0) == 10
