"""The template miner: conventions, enumerations, bounded state, stable ids across runs."""

from __future__ import annotations

from pathlib import Path

from prodshield.logs.clusters import slot_of
from prodshield.logs.state import load_miner, save_miner
from prodshield.logs.templates import TemplateMiner, template_id
from prodshield.store import Store
from prodshield.store import tables as t


def _feed(miner: TemplateMiner, lines: list[str]) -> None:
    for line in lines:
        miner.add(line)


def test_variables_follow_the_labelling_conventions() -> None:
    miner = TemplateMiner()
    m = miner.add("Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6")
    assert m.template == "Received block <*> of size <*> from <*>"
    assert m.params == ["blk_-1608999687919862906", "91178", "/10.250.10.6"]
    m = miner.add("Connecting to 10.0.0.1:5432 at 2024-03-12 as uid=0 via https://db.example/x?y=1")
    assert m.template == "Connecting to <*>:<*> at <*>-<*>-<*> as uid=<*> via https://<*>"
    assert miner.add("port 22 ssh2 SOCKS5").template == "port <*> ssh2 SOCKS5"


def _matched(miner: TemplateMiner, message: str) -> str:
    """The template ``message`` matches (failing the test when none does)."""
    found = miner.match(message)
    assert found is not None, message
    return found.template


def test_words_that_vary_become_variables_and_few_states_stay() -> None:
    miner = TemplateMiner()
    users = [f"user{c}" for c in "abcdefgh"]
    _feed(
        miner,
        [f"Invalid user {u.replace('user', 'name')} from 10.0.0.{i}" for i, u in enumerate(users)],
    )
    assert _matched(miner, "Invalid user zed from 10.0.0.9") == "Invalid user <*> from <*>"
    _feed(
        miner,
        [
            f"job {i} moved from {a} to {b}"
            for i, (a, b) in enumerate([("NEW", "RUNNING"), ("RUNNING", "DONE")] * 5)
        ],
    )
    assert _matched(miner, "job 3 moved from NEW to RUNNING") == "job <*> moved from NEW to RUNNING"
    assert (
        _matched(miner, "job 3 moved from RUNNING to DONE") == "job <*> moved from RUNNING to DONE"
    )


def test_memory_grows_with_templates_not_lines() -> None:
    miner = TemplateMiner()
    for i in range(5000):
        miner.add(f"GET /item/{i} took {i % 97} ms for user{i} from 10.1.{i % 250}.{i % 7}")
    assert miner.cluster_count == 1
    assert len(miner.templates()) == 1


def test_ids_are_stable_across_runs_via_the_store(store: Store) -> None:
    lines = [f"worker {i} finished batch {i * 7} in {i}ms" for i in range(50)]
    first = TemplateMiner()
    ids = {first.add(line).template_id for line in lines}
    assert ids == {template_id("worker <*> finished batch <*> in <*>")}
    save_miner(store, first, source="test")
    assert store.count(t.log_templates) == 1
    second = load_miner(store)
    match = second.add("worker 99 finished batch 1 in 5ms")
    assert match.template_id in ids
    assert second.templates()[0].count == 51


# --- batches (``logs templates``): lines of one shape are masked and placed once -------------


def _by_template(miner: TemplateMiner) -> dict[str, int]:
    return {tpl.template: tpl.count for tpl in miner.templates()}


def _realistic(n: int, seed: int = 3) -> list[str]:
    import random
    import uuid

    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = i % 7
        if kind == 0:
            out.append(
                f"Accepted password for user{rng.randrange(9)} from 10.{rng.randrange(256)}."
                f"{rng.randrange(256)}.{rng.randrange(256)} port {rng.randrange(1, 65535)} "
                f"ssh{rng.choice('12')}"
            )
        elif kind == 1:
            vm = uuid.UUID(int=rng.getrandbits(128))
            out.append(f"[instance: {vm}] VM Started (Lifecycle Event) took {rng.random():.2f}s")
        elif kind == 2:
            out.append(
                f"R{rng.randrange(80):02d}-M{rng.randrange(2)}-N{rng.choice('0123456789ABCDEF')}"
                f"-C:J{rng.randrange(18):02d}-U{rng.randrange(20):02d} RAS KERNEL INFO "
                f"iar {rng.getrandbits(32):08x} dear {rng.getrandbits(32):08x}"
            )
        elif kind == 3:
            out.append(f"Transitioned from {rng.choice(['NEW', 'INITED', 'RUNNING'])} to DONE")
        elif kind == 4:
            out.append(
                f"GET /api/orders/{rng.randrange(10 ** rng.randrange(1, 7))} {rng.choice([200, 404])} "
                f"in {rng.randrange(1, 2000)} ms policyFlags=0x{rng.getrandbits(24):x}"
            )
        elif kind == 5:
            out.append(f"Package_for_KB{rng.randrange(10**7)}~{rng.getrandbits(64):016x}~amd64")
        else:  # UUID-like ids: well formed, digits only, a group cut short, upper case
            u = str(uuid.UUID(int=rng.getrandbits(128)))
            u = rng.choice(
                [
                    u,
                    "".join(c if c == "-" else str(rng.randrange(10)) for c in u),
                    u[: rng.randrange(10, 30)] + u[30:],
                    u.upper(),
                ]
            )
            out.append(f"[req-{u} - -] instance {u} spawned in {rng.random():.2f} seconds")
    return out


def test_a_batch_learns_the_templates_line_by_line_learning_gives() -> None:
    lines = _realistic(7000)
    one_by_one = TemplateMiner()
    _feed(one_by_one, lines)
    batched = TemplateMiner()
    for k in range(0, len(lines), 2000):
        batched.add_batch(lines[k : k + 2000])
    assert batched.lines == one_by_one.lines == 7000
    expected = _by_template(one_by_one)
    assert _by_template(batched) == expected
    # names that keep a digit stay apart, values of every shape are variables
    ssh1 = expected["Accepted password for <*> from <*> port <*> ssh1"]
    ssh2 = expected["Accepted password for <*> from <*> port <*> ssh2"]
    assert ssh1 + ssh2 == 1000 and min(ssh1, ssh2) > 400
    assert sum(n for t, n in expected.items() if t.startswith("Transitioned from ")) == 1000
    assert len([t for t in expected if t.startswith("Transitioned from ")]) == 3
    assert expected["[instance: <*>] VM Started (Lifecycle Event) took <*>"] == 1000
    assert sum(n for t, n in expected.items() if "iar <*> dear <*>" in t) == 1000
    # template ids and parameters of later lines agree whichever way the miner learnt
    probe = "Accepted password for user3 from 10.1.2.3 port 2222 ssh2"
    assert batched.add(probe).template_id == one_by_one.add(probe).template_id


def test_a_batch_keeps_first_and_last_seen() -> None:
    lines = [f"job {i} done in {i % 13} ms" for i in range(1000)]
    times = [1_700_000_000.0 + (i * 7919) % 1000 for i in range(1000)]
    miner = TemplateMiner()
    miner.add_batch(lines, times)
    (tpl,) = miner.templates()
    assert (tpl.template, tpl.count) == ("job <*> done in <*> ms", 1000)
    assert (tpl.first_seen, tpl.last_seen) == (min(times), max(times))


def test_logs_templates_api_matches_the_event_path(tmp_path: Path) -> None:
    from prodshield.logs.api import mine, parse_files, templates
    from prodshield.logs.sources.files import ReadStats

    path = tmp_path / "app.log"
    lines = _realistic(3000, seed=11)
    # a Java stack trace: continuation lines belong to the record above
    lines[10:10] = ["java.lang.IllegalStateException: boom", "\tat a.b.C.d(C.java:12)"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stats = ReadStats()
    fast = templates([str(path)], stats=stats)
    assert stats.events == 3001 and stats.lines == 3002
    slow = TemplateMiner()
    for _ in mine(parse_files([str(path)]), slow):
        pass
    assert {t.template: t.count for t in fast} == _by_template(slow)


def test_templates_are_the_text_with_variables_masked_nothing_moved() -> None:
    miner = TemplateMiner()
    cases = {
        "Slow query (12 ms) on table orders": "Slow query (<*> ms) on table orders",
        "checkpoint complete: wrote 12 buffers (0.3%)": "checkpoint complete: wrote <*> buffers (<*>%)",
        "Starting a failover election for epoch 112.": "Starting a failover election for epoch <*>.",
        "Needed quorum: 5. Number of votes received so far: 2": (
            "Needed quorum: <*>. Number of votes received so far: <*>"
        ),
        "proxy.example.com:5070 close, 18846 bytes (18.4 KB) received, lifetime <1 sec": (
            "<*>:<*> close, <*> bytes (<*> KB) received, lifetime <<*> sec"
        ),
        "GET /api/orders (200 OK) in 12 ms": "GET <*> (<*> OK) in <*> ms",
    }
    for line, template in cases.items():
        assert miner.add(line).template == template


def test_a_value_keeps_the_full_stop_and_percent_sign_after_it() -> None:
    """The punctuation closing a sentence or a value is text: a template keeps it whether the
    value is masked (``5.`` -> ``<*>.``) or the position became a variable across lines
    (``frontend orders.`` and ``frontend search-8.`` -> ``frontend <*>.``)."""
    miner = TemplateMiner()
    names = ["orders", "search-8", "billing", "carts-2", "mail", "users"]
    for i, name in enumerate(names * 3):
        miner.add(f"Paused frontend {name}.")
        miner.add(f"disk sd{'abcdefgh'[i % 8]} at {80 + i}.5% of {name}.")
    (paused,) = [t for t in miner.templates() if t.template.startswith("Paused")]
    assert paused.template == "Paused frontend <*>." and paused.count == 18
    (disk,) = [t for t in miner.templates() if t.template.startswith("disk")]
    assert disk.template == "disk <*> at <*>% of <*>."
    match = miner.match("Paused frontend stock-3.")
    assert match is not None and match.template == "Paused frontend <*>."
    # a unit written against its number is one value, as Loghub labels it
    assert miner.add("disconnected for 4321ms").template == "disconnected for <*>"
    # a dot inside a name is not a closing one: two file names share no suffix
    from prodshield.logs.clusters import common_shape

    assert common_shape("a.txt", "b.txt") == ("", "")
    assert common_shape("orders.", "search-<*>.") == ("", ".")
    assert common_shape("(x.)", "(y.)") == ("(", ".)")


def test_final_labels_give_early_lines_the_template_of_the_end(tmp_path: Path) -> None:
    import orjson

    from prodshield.logs.api import parse_jsonl

    lines = [f"disk {d} is {p}% full" for d, p in zip("abcdefgh", range(90, 98), strict=True)]
    path = tmp_path / "disk.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = b"".join(parse_jsonl([str(path)], "raw", miner=TemplateMiner()))
    rows = [orjson.loads(x) for x in out.splitlines()]
    assert [r["template"] for r in rows] == ["disk <*> is <*>% full"] * 8
    assert len({r["template_id"] for r in rows}) == 1
    assert rows[0]["params"] == ["a", "90"]


# --- stable ids: an id names one cluster for its whole life ------------------------------------


def test_an_id_is_kept_when_its_template_generalises() -> None:
    miner = TemplateMiner()
    first = miner.add("session opened for alice by root")
    assert first.template == "session opened for alice by root"
    later = [miner.add(f"session opened for {u} by {w}") for u, w in _USERS]
    assert later[-1].template == "session opened for <*> by <*>"
    # while a position has few values they are an enumeration (ids of their own); once it is a
    # variable, every line has the cluster's id and the enumeration's ids point to it
    assert {m.template_id for m in later[5:]} == {first.template_id}
    assert {miner.current_id(m.template_id) for m in later} == {first.template_id}
    (tpl,) = miner.templates()
    assert (tpl.id, tpl.count) == (first.template_id, 1 + len(_USERS))
    assert miner.match("session opened for zed by admin").template_id == first.template_id  # type: ignore[union-attr]


_USERS = [(f"user{c}", f"admin{c}x") for c in "bcdefghij"]


def test_enumeration_values_keep_their_ids_and_fold_when_they_become_a_variable() -> None:
    miner = TemplateMiner()
    new = miner.add("job 1 moved from NEW to RUNNING")
    running = miner.add("job 2 moved from RUNNING to DONE")
    assert new.template == "job <*> moved from NEW to RUNNING"
    assert running.template == "job <*> moved from RUNNING to DONE"
    assert new.template_id != running.template_id
    # the same states later give the same ids
    assert miner.add("job 3 moved from RUNNING to DONE").template_id == running.template_id
    assert miner.add("job 4 moved from NEW to RUNNING").template_id == new.template_id
    # too many states: the positions become variables, the cluster's first id survives
    for i, (a, b) in enumerate([("A", "B"), ("C", "D"), ("E", "F"), ("G", "H"), ("I", "J")]):
        last = miner.add(f"job {i} moved from {a} to {b}")
    assert last.template == "job <*> moved from <*> to <*>"
    assert last.template_id == new.template_id
    assert miner.current_id(running.template_id) == new.template_id
    assert miner.current_id("not-an-id") == "not-an-id"
    (tpl,) = miner.templates()
    assert (tpl.id, tpl.count) == (new.template_id, 9)


def test_ids_and_generalisation_survive_a_store_round_trip(store: Store) -> None:
    miner = TemplateMiner()
    first = miner.add("backup of db1 finished in 12 s")
    save_miner(store, miner, source="test")
    again = load_miner(store)
    # the template generalises in the next run: the id stays the one stored
    for name in ("orders", "users", "billing", "audit", "events", "carts"):
        m = again.add(f"backup of {name} finished in 3 s")
    assert m.template == "backup of <*> finished in <*> s"
    assert m.template_id == first.template_id
    save_miner(store, again, source="test")
    third = load_miner(store)
    (tpl,) = third.templates()
    assert (tpl.id, tpl.template, tpl.count) == (first.template_id, m.template, 7)
    assert third.add("backup of x2 finished in 1 s").template_id == first.template_id


def test_a_line_whose_values_an_enumeration_has_seen_joins_it() -> None:
    miner = TemplateMiner()
    a = miner.add('10.0.0.1 "GET /a HTTP/1.1" status: 200 len: 12 time: 0.1')
    for method in ("POST", "DELETE"):
        miner.add(f'10.0.0.1 "{method} /b HTTP/1.1" status: 200 len: 12 time: 0.1')
    b = miner.add('10.0.0.2,10.0.0.1 "GET /c/2012-08-10 HTTP/1.1" status: 200 len: 1 time: 0.2')
    assert b.template_id == a.template_id
    assert b.template == '<*> "GET <*> <*>" status: <*> len: <*> time: <*>'
    assert miner.cluster_count == 1


def test_every_id_given_stays_accounted_for() -> None:
    """Random lines over a small vocabulary (clusters meet, fuse, enumerations overflow): every
    id ever given still names a template, and the counts add up."""
    import random

    rng = random.Random(5)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
    miner = TemplateMiner()
    given: set[str] = set()
    lines = []
    for _ in range(3000):
        n = rng.randrange(3, 7)
        line = " ".join(
            rng.choice(words[: rng.randrange(2, 9)]) if rng.random() < 0.8 else str(rng.random())
            for _ in range(n)
        )
        lines.append(line)
        given.add(miner.add(line).template_id)
    final = {tpl.id: tpl for tpl in miner.templates()}
    assert sum(tpl.count for tpl in final.values()) == 3000
    assert {miner.current_id(i) for i in given} <= set(final)
    for line in lines[-200:]:
        m = miner.match(line)
        assert m is not None and m.template_id in final
        listed = final[m.template_id]
        assert m.template == listed.template or m.template in listed.variants


def test_a_variable_that_takes_more_tokens_keeps_the_id_and_its_own_text(store: Store) -> None:
    """``0 bytes sent`` and ``1190 bytes (1.16 KB) sent`` are one statement: the lines of the
    longer variant are given the id of the older cluster, each with its own text masked."""
    lines = [
        "conn 10.0.0.1:80 close, 0 bytes sent, 12 bytes received, lifetime 00:01",
        "conn 10.0.0.2:80 close, 1190 bytes (1.16 KB) sent, 9 bytes received, lifetime 00:02",
        "conn 10.0.0.3:80 close, 5 bytes sent, 11721005 bytes (11.1 MB) received, lifetime <1 sec",
        "conn 10.0.0.4:80 close, 7 bytes (2.86 KB) sent, 8 bytes (3.2 KB) received, lifetime 00:03",
    ]
    miner = TemplateMiner()
    got = [miner.add(line) for line in lines]
    assert len({m.template_id for m in got}) == 1
    assert (
        got[0].template
        == "conn <*>:<*> close, <*> bytes sent, <*> bytes received, lifetime <*>:<*>"
    )
    assert got[1].template == (
        "conn <*>:<*> close, <*> bytes (<*> KB) sent, <*> bytes received, lifetime <*>:<*>"
    )
    assert got[1].params == ["10.0.0.2", "80", "1190", "1.16", "9", "00", "02"]
    (listed,) = miner.templates()
    assert listed.count == 4 and listed.template == got[0].template
    assert got[1].template in listed.variants
    # words inserted (not variables) make another statement
    a = miner.add("Failed password for root from 10.0.0.1 port 22 ssh2")
    b = miner.add("Failed password for invalid user root from 10.0.0.1 port 22 ssh2")
    assert a.template_id != b.template_id
    # the link is part of the saved state: a later run gives the same id to a new variant
    save_miner(store, miner)
    again = load_miner(store)
    more = again.add("conn 10.0.0.9:80 close, 3 bytes sent, 4 bytes received, lifetime <1 sec")
    assert more.template_id == got[0].template_id
    assert again.add(lines[1]).template_id == got[0].template_id


def test_units_that_change_with_the_magnitude_are_part_of_the_value() -> None:
    miner = TemplateMiner()
    kb = miner.add("stored 12 KB in cache")
    mb = miner.add("stored 3 MB in cache")
    assert kb.template_id == mb.template_id
    assert miner.add("stored 7 GB in cache").template == "stored <*> <*> in cache"
    # words that are not units stay an enumeration of states
    a = miner.add("Transitioned from NEW to INITED")
    b = miner.add("Transitioned from INITED to RUNNING")
    assert a.template_id != b.template_id


def test_a_short_message_keeps_its_first_word() -> None:
    """In a message of a few tokens one word is a large share: ``boot (command 12)`` and
    ``wait (command 13)`` are two statements, as Drain's prefix tree has it."""
    miner = TemplateMiner()
    boot = miner.add("boot (command 1911)")
    wait = miner.add("wait (command 1975)")
    assert boot.template_id != wait.template_id
    assert miner.add("boot (command 2000)").template_id == boot.template_id


def test_a_value_written_in_words_is_a_variable_past_a_few_values() -> None:
    """``failed: Broken pipe`` / ``failed: Connection reset by peer``: an error text of several
    words. While the place has had at most ``enum_max`` values each is a template (as Loghub
    labels them); past that the clusters of every length are one template, the earlier ids fold
    into it."""
    errors = [
        "Permission denied",
        "Connection refused",
        "Operation timed out",
        "No such file or directory",
        "Connection reset by peer",
        "Broken pipe",
    ]
    miner = TemplateMiner()
    first = [
        miner.add(f"Connection with node {i} at 10.0.0.{i}:6379 failed: {e}")
        for i, e in enumerate(errors[:3])
    ]
    assert len({m.template_id for m in first}) == 3  # three values: three templates
    more = [
        miner.add(f"Connection with node {i} at 10.0.1.{i}:6379 failed: {e}")
        for i, e in enumerate(errors)
    ]
    assert more[-1].template_id == more[-2].template_id  # past five values, at once
    (listed,) = miner.templates()
    assert listed.count == 9
    assert {miner.current_id(m.template_id) for m in first + more} == {listed.id}
    # the same words in a message that does not vary there stay constants
    other = TemplateMiner()
    a = other.add("Error loading /bin/x: invalid or missing program image, Permission denied")
    b = other.add(
        "Error loading /bin/y: invalid or missing program image, No such file or directory"
    )
    assert a.template_id != b.template_id


def test_a_value_in_words_that_shares_its_last_token_with_others_is_one_place() -> None:
    """nginx's ``%V could not be resolved (%i: %s)``: the error text ends in the ``)`` of the
    message, so a two-word and a three-word text share the last token ``<*>)``; the place is the
    whole text on both sides and, past ``enum_max`` values, every line is one template."""
    errors = ["Server failure", "Format error", "Connection refused", "Host not found"]
    errors += ["Operation timed out"]
    miner = TemplateMiner()
    got = [
        miner.add(f"shop{i}.internal could not be resolved ({i + 2}: {errors[i % 5]})")
        for i in range(40)
    ]
    assert len({miner.current_id(m.template_id) for m in got}) == 1
    # the place takes in the enumerations next to it only when both sides vary there: a name
    # beside an inserted phrase (OpenSSH's "for root from" / "for invalid user <*> from") is not
    # one value in words
    valid = ["Failed", "password", "for", "<*>", "from", "<*>", "port", "<*>", "ssh2"]
    invalid = [
        "Failed",
        "password",
        "for",
        "invalid",
        "user",
        "<*>",
        "from",
        "<*>",
        "port",
        "<*>",
        "ssh2",
    ]
    assert slot_of(valid, {3, 5, 7}, invalid, {5, 7, 9}, ({3}, set())) is None
    two = ["<*>", "could", "not", "be", "resolved", "(<*>:", "<*>", "<*>)"]
    three = ["<*>", "could", "not", "be", "resolved", "(<*>:", "<*>", "<*>", "<*>)"]
    assert slot_of(two, {0, 6, 7}, three, {0, 6, 7, 8}, ({6, 7}, {6, 7, 8})) == (
        range(6, 8),
        range(6, 9),
    )


def test_clusters_made_before_a_variable_was_known_join_it() -> None:
    """``Connect() failed for backend %s: %s.`` with a new backend name and a new error text on
    the same line made a cluster of its own while the older one still had a constant name; once
    the older one makes the name a variable, it takes them (one cluster)."""
    errors = ["Connection refused.", "Permission denied.", "Broken pipe."]
    names = ["billing", "stock", "payments", "orders"]
    miner = TemplateMiner()
    got = [
        miner.add(f"Connect() failed for backend {names[i % 4]}-{i % 7}: {errors[i % 3]}")
        for i in range(24)
    ]
    assert miner.cluster_count == 1
    # three error texts (at most enum_max): an enumeration, a template each, as Loghub labels
    assert len({miner.current_id(m.template_id) for m in got}) == 3
    assert sum(t.count for t in miner.templates()) == 24
    # a proxy type (a few fixed words) stays part of the template: three templates
    paused = TemplateMiner()
    kinds = ["frontend", "backend", "proxy"]
    lines = [
        paused.add(f"Paused {kinds[i % 3]} {names[i % 4]}{'-' + str(i) if i % 2 else ''}.")
        for i in range(30)
    ]
    ids = {paused.current_id(m.template_id) for m in lines}
    assert len(ids) == 3
    assert {t.template for t in paused.templates()} >= {"Paused frontend <*>."}


def test_a_list_of_values_of_any_length_is_one_template() -> None:
    """``a-1``, ``a-1, b-2`` ... ``a-1, b-2, c-3, d-4``: one value (a comma-separated list of
    variables), so one id; each line keeps its own text. A list does not make a line agree with
    another statement whose words differ (``Adding newly assigned partitions: <*>, <*>``)."""
    miner = TemplateMiner()
    topics = ["orders", "users", "billing", "carts", "mail"]
    for i in range(12):
        items = ", ".join(f"{topics[(i + k) % 5]}-{i + k}" for k in range(1 + i % 4))
        miner.add(f"Adding newly assigned partitions: {items}")
    ids = set()
    texts = set()
    lost = ["stock", "audit", "search", "events", "reports"]
    for i in range(12):
        items = ", ".join(f"{lost[(i + k) % 5]}-{i + k}" for k in range(1 + (i + 1) % 4))
        m = miner.add(f"Lost previously assigned partitions {items}")
        ids.add(miner.current_id(m.template_id))
        texts.add(m.template)
    assert len(ids) == 1
    assert {t.count(",") for t in texts} == {0, 1, 2, 3}  # each line its own list
    adding = miner.add("Adding newly assigned partitions: orders-1, users-2, mail-3, carts-4")
    assert miner.current_id(adding.template_id) not in ids


def test_state_names_stay_templates_past_enum_max() -> None:
    """Upper-case names (an enum's constants) are labelled as text, as Loghub-2.0 labels
    ``Transitioned from NEW to UNASSIGNED``: past ``enum_max`` of them each transition is still a
    template of its own, while lower-case words past ``enum_max`` are a variable."""
    states = ["JOINING", "RECONCILING", "ACKNOWLEDGING", "STABLE", "PREPARE_LEAVING", "LEAVING"]
    miner = TemplateMiner()
    for i in range(60):
        before, after = states[i % 6], states[(i + 1) % 6]
        miner.add(f"Member m{i}x{i} with epoch {i} transitioned from {before} to {after}.")
    texts = {t.template for t in miner.templates()}
    assert len(texts) == 6
    assert "Member <*> with epoch <*> transitioned from PREPARE_LEAVING to LEAVING." in texts
    words = TemplateMiner()
    names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    for i in range(60):
        words.add(f"Member m{i}x{i} with epoch {i} joined from {names[i % 6]} ok")
    assert [t.template for t in words.templates()] == [
        "Member <*> with epoch <*> joined from <*> ok"
    ]


def test_a_value_in_words_may_be_a_sentence() -> None:
    """An error text of up to a dozen words between constant text (``Asynchronous auto-commit of
    offsets failed: %s. Will continue``) is one value past a few texts, like a short one."""
    errors = [
        "The request timed out.",
        "The server disconnected before a response was received.",
        "The version of the protocol is not supported by this server.",
        "The access was denied.",
        "The broker closed the socket before it replied.",
        "The error is not known.",
    ]
    miner = TemplateMiner()
    got = [
        miner.add(
            f"Fetch of offsets for the partition failed: {errors[i % 6]} "
            f"Will retry the request after {i * 10} ms"
        )
        for i in range(36)
    ]
    assert len({miner.current_id(m.template_id) for m in got}) == 1


def test_a_name_kept_by_masking_does_not_hide_a_cluster_from_its_peers() -> None:
    """A first line whose name the masking keeps (``db7.svc could not be resolved``) files its
    cluster under that name; once the name is a variable the cluster is found by the constant
    text after it, so a one-word value there joins the values in words of other lengths."""
    errors = [
        "Refused)",
        "Format error)",
        "Server failure)",
        "Host not found)",
        "Operation timed out)",
        "Refused)",
        "Bad reply)",
    ]
    miner = TemplateMiner()
    got = [
        miner.add(f"db{i % 9}.svc could not be resolved ({i % 5}: {errors[i % 7]}")
        for i in range(70)
    ]
    assert len({miner.current_id(m.template_id) for m in got}) == 1


def test_a_field_of_a_record_is_a_value_not_an_enumeration() -> None:
    """In a line of many ``key=value`` fields whose values vary (a client described field by
    field), a field with few values (``lib=`` / ``lib=jedis``) is one more value of the record;
    a line of a few fields keeps its enumerations, and state names stay templates."""
    libs = ["", "jedis", "go-redis", "redis-py"]
    miner = TemplateMiner()
    got = [
        miner.add(
            f"Client closed id={i} addr=10.0.0.{i}:{4000 + i} fd={i % 9} age={i * 7} "
            f"idle={i % 5} db={i % 3} lib={libs[i % 4]} mode=N"
        )
        for i in range(40)
    ]
    assert {m.template for m in got[-4:]} == {
        "Client closed id=<*> addr=<*>:<*> fd=<*> age=<*> idle=<*> db=<*> lib=<*> mode=N"
    }
    few = TemplateMiner()
    texts = {
        few.add(f"login failed uid={i} user={['root', 'admin'][i % 2]}").template for i in range(8)
    }
    assert texts == {"login failed uid=<*> user=root", "login failed uid=<*> user=admin"}
    states = TemplateMiner()
    texts = {
        states.add(
            f"touch x={i} y={i} a={i} b={i} c={i} action={['ACTION_UP', 'ACTION_DOWN'][i % 2]}"
        ).template
        for i in range(8)
    }
    assert len(texts) == 2


def test_a_bracketed_list_over_several_tokens_is_one_value() -> None:
    """A list printed with its brackets whose items are several tokens each (``[http://a:9000
    is unreachable: timed out http://b:9000 is unreachable: refused]``) is one value: lines with
    one, two or three items are given one id, each keeping its own text."""
    reasons = ["timed out", "connection refused by peer", "reset"]
    miner = TemplateMiner()
    got = []
    for i in range(30):
        items = " ".join(
            f"http://node{(i + k) % 7}:9000 is unreachable: {reasons[(i + k) % 3]}"
            for k in range(1 + i % 3)
        )
        got.append(miner.add(f"These peers are offline or unreachable [{items}] since {i} s"))
    assert len({miner.current_id(m.template_id) for m in got}) == 1
    assert got[-1].template.startswith("These peers are offline or unreachable [http://<*> is")


def test_a_state_name_after_a_slash_stays_text() -> None:
    """``(%s/%s)`` with a proxy's name and its mode (``(orders/HTTP)``, ``(carts-6/TCP)``): the
    names are one variable, the mode a state name that stays in the template, as state names
    do (``Transitioned from NEW to INITED``); lines with another mode are another template."""
    names = ["orders", "carts-6", "audit", "mail-2", "stock", "users-11", "billing", "search-3"]
    miner = TemplateMiner()
    got = [
        miner.add(
            f"Accepted from 10.0.{i}.1:{3000 + i} to 10.1.0.2:80 "
            f"({names[i % 8]}/{['HTTP', 'TCP'][i % 3 == 0]})"
        )
        for i in range(48)
    ]
    assert {m.template for m in got[-6:]} == {
        "Accepted from <*>:<*> to <*>:<*> (<*>/HTTP)",
        "Accepted from <*>:<*> to <*>:<*> (<*>/TCP)",
    }
    assert len({miner.current_id(m.template_id) for m in got}) == 2


def test_a_sentence_is_a_value_only_between_as_many_constant_words() -> None:
    """A place of several words between a few constant tokens is another statement after a line's
    header (``Nov <*> node1 kernel: eth0: link up ...``), not a value; between as many constant
    words as it has (``Drive <*> returned an unexpected error: ..., please investigate``) it is."""
    head = ["Nov", "<*>", "node1", "kernel:", "[info]"]
    short = [*head, "<*>", "<*>", "<*>", "<*>", "<*>", "<*>"]
    long = [*head, "usb", "<*>", "new", "high", "speed", "device", "number", "<*>", "using"]
    assert slot_of(short, set(range(5, 11)), long, set(), ((), ())) is None
    tail = ["please", "investigate", "-", "drive", "will", "be", "offline"]
    short = ["Drive", "<*>", "returned", "an", "error:", "<*>", "<*>", "<*>,", *tail]
    long = [
        "Drive",
        "<*>",
        "returned",
        "an",
        "error:",
        *["part", "of", "root", "drive,", "will", "not", "be", "used,"],
        *tail,
    ]
    assert slot_of(short, {1, 5, 6, 7}, long, {1}, ((), ())) == (range(5, 8), range(5, 13))


def _final_ids(miner: TemplateMiner, lines: list[str]) -> list[str]:
    """Learn every line, then give each the id its cluster has at the end (as ``logs parse``
    does for a file)."""
    entries = [miner.learn(line)[0] for line in lines]
    return [miner.final(entry).template_id for entry in entries]


def test_a_text_between_constant_words_is_one_value_past_enum_max_texts() -> None:
    """A message written between constant text on both sides (``rejected: %s. The refund will
    be retried``) is a value however long the text is (an exception's whole message) and
    whether or not any line has varied there yet: past ``enum_max`` texts their lines are one
    template; up to ``enum_max`` texts each stays its own, as enumerations do."""
    long_reason = (
        "The payment provider answered with an error that this client does not know how to "
        "handle, which usually means that the provider changed its interface without notice "
        "and that the integration must be updated"
    )
    reasons = [
        "Card expired",
        "Insufficient funds on the account",
        "Issuer unavailable",
        "Amount above the daily limit for this merchant",
        long_reason,
    ]
    # a payments worker: a variable (the order) before the text
    refunds = [
        f"Refund of order {1000 + i} rejected: {reasons[i % 5]}. The refund will be retried"
        for i in range(40)
    ]
    assert len(set(_final_ids(TemplateMiner(), refunds))) == 1
    four = [line for line in refunds if long_reason not in line]
    assert len(set(_final_ids(TemplateMiner(), four))) == 4
    # a backup tool: nothing in the line varies but the text
    causes = [
        "disk quota exceeded",
        "remote closed the stream",
        "object store returned a checksum mismatch for a part that was already uploaded",
        "credentials rotated during the upload",
        "network unreachable",
    ]
    uploads = [
        f"nightly snapshot upload aborted ({causes[i % 5]}) - next attempt at the scheduled hour"
        for i in range(25)
    ]
    assert len(set(_final_ids(TemplateMiner(), uploads))) == 1


def test_a_bounded_place_is_not_a_name_beside_a_phrase_nor_a_record_s_fields() -> None:
    """Between constant text on both sides, a lone token opposite a phrase is a name and a
    phrase (``for root from`` / ``for invalid user <*> from``), and ``key=value`` tokens are
    which fields a record writes: neither is a value in words, whatever their number."""
    tail = ["from", "the", "address", "<*>", "on", "port", "<*>"]
    name = ["Login", "refused", "for", "root", *tail]
    phrase = ["Login", "refused", "for", "invalid", "user", "<*>", *tail]
    assert slot_of(name, {7, 10}, phrase, {5, 9, 12}) is None
    texts = ["Login", "refused", "for", "expired", "password", *tail]
    assert slot_of(texts, {8, 11}, phrase, {5, 9, 12}) == (range(3, 5), range(3, 6))
    fields = ["", "act=view ", "act=edit dat=doc1 ", "act=edit dat=doc2 typ=pdf ", "cat=home "]
    intents = [
        f"Skipping start of intent {{ {fields[i % 5]}flg={i} cmp=app{i} }} for the user now"
        for i in range(40)
    ]
    assert len(set(_final_ids(TemplateMiner(), intents))) > 1
