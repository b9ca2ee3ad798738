"""Request lines get their endpoint as their template (prodshield.logs.endpoints)."""

from __future__ import annotations

from prodshield.logs.endpoints import (
    MAX_NAMES,
    NAMES_PER_POSITION,
    EndpointMasker,
    is_endpoint,
    request_tokens,
)
from prodshield.logs.templates import MinerConfig, TemplateMiner


def _templates(miner: TemplateMiner) -> dict[str, int]:
    return {t.template: t.count for t in miner.templates()}


def test_request_lines_are_recognised_and_nothing_else() -> None:
    assert request_tokens("GET /api/orders/1 HTTP/1.1") == ["GET", "/api/orders/1", "HTTP/1.1"]
    assert request_tokens("GET /") == ["GET", "/"]
    assert request_tokens("GET /x is slow") is None  # an application's own message
    assert request_tokens("GETTING /x HTTP/1.1") is None
    assert request_tokens('10.0.0.1 "GET /v2/x HTTP/1.1" status: 200') is None  # OpenStack's
    assert is_endpoint(("GET", "/api/orders/<*>", "HTTP/1.1"))
    assert not is_endpoint(("GET", "<*>", "<*>"))


def test_ids_and_query_values_are_values_names_stay() -> None:
    miner = TemplateMiner()
    for i in range(30):
        miner.add(f"GET /api/orders/{1000 + i} HTTP/1.1")
        miner.add(f"GET /api/users/{i}/profile HTTP/1.1")
        miner.add(f"GET /static/app.{i:08x}{i:08x}.js HTTP/2.0")
        miner.add(f"GET /search?q=item{i}&page={i} HTTP/1.1")
        miner.add(f"DELETE /api/sessions/8c0e{i:04d}-1f2a-4b3c-9d8e-0123456789ab HTTP/1.1")
    miner.add("POST /api/checkout HTTP/1.1")
    assert _templates(miner) == {
        "GET /api/orders/<*> HTTP/1.1": 30,
        "GET /api/users/<*>/profile HTTP/1.1": 30,
        "GET /static/<*> HTTP/2.0": 30,
        "GET /search?q=<*>&page=<*> HTTP/1.1": 30,
        "DELETE /api/sessions/<*> HTTP/1.1": 30,
        "POST /api/checkout HTTP/1.1": 1,
    }
    match = miner.add("GET /api/users/77/profile HTTP/1.1")
    assert match.params == ["77"]


def test_endpoints_never_merge_into_one_template() -> None:
    """Drain would make these one ``GET <*> <*>``: each endpoint keeps its own."""
    miner = TemplateMiner()
    pages = ["/", "/login", "/pricing", "/docs/install", "/docs/api", "/health"]
    for _ in range(20):
        for page in pages:
            miner.add(f"GET {page} HTTP/1.1")
    assert sorted(_templates(miner)) == sorted(f"GET {p} HTTP/1.1" for p in pages)


def test_names_past_the_limit_under_one_parent_become_values() -> None:
    """A blog's slugs: the first names stay endpoints, the rest are one ``/posts/<*>``."""
    miner = TemplateMiner()
    miner.add("GET /posts/hello-world HTTP/1.1")
    for i in range(NAMES_PER_POSITION + 40):
        miner.add(
            f"GET /posts/how-to-{'x' * (i % 7)}-{chr(97 + i % 26)}{chr(97 + i // 26)} HTTP/1.1"
        )
    miner.add("GET /posts/hello-world HTTP/1.1")  # a name kept stays its own endpoint
    found = _templates(miner)
    assert found["GET /posts/hello-world HTTP/1.1"] == 2
    assert found["GET /posts/<*> HTTP/1.1"] == 41
    assert len(found) == NAMES_PER_POSITION + 1


def test_a_scanner_cannot_grow_the_templates_without_bound() -> None:
    miner = TemplateMiner(MinerConfig(max_endpoints=100))
    miner.add("GET /health HTTP/1.1")
    for i in range(5000):
        miner.add(f"GET /{'a' * (i % 5 + 1)}{i // 5:x}z/admin.php HTTP/1.1")
    miner.add("GET /" + "A" * 5000 + " HTTP/1.1")
    found = _templates(miner)
    assert len(found) <= 102, len(found)
    assert found["GET /health HTTP/1.1"] == 1
    assert miner.cluster_count <= 102


def test_the_batch_path_and_line_by_line_agree_and_state_round_trips() -> None:
    lines = [f"GET /api/orders/{i} HTTP/1.1" for i in range(600)]
    lines += [f"PUT /api/carts/{i}/items HTTP/1.1" for i in range(600)]
    lines += [f"worker {i} started in {i % 7} ms" for i in range(600)]
    one, many = TemplateMiner(), TemplateMiner()
    for line in lines:
        one.add(line)
    entries = many.learn_many(lines)
    assert _templates(one) == _templates(many)
    assert many.final(entries[0]).template == "GET /api/orders/<*> HTTP/1.1"
    # a restart (the service's saved state) keeps the ids and never merges two endpoints
    again = TemplateMiner.from_state(many.state())
    before = {t.template: t.id for t in many.templates()}
    again.add("GET /api/orders/9999 HTTP/1.1")
    again.add("PUT /api/carts/5/items HTTP/1.1")
    again.add("GET /api/other HTTP/1.1")
    after = {t.template: t.id for t in again.templates()}
    for template, tid in before.items():
        assert after[template] == tid
    assert "GET /api/other HTTP/1.1" in after


def test_the_names_kept_are_read_back_with_the_state() -> None:
    """After a restart the slugs past the limit still fold: the names kept are not counted
    afresh (each restart would add 50 endpoints)."""
    miner = TemplateMiner()
    for i in range(NAMES_PER_POSITION + 5):
        miner.add(f"GET /posts/post-{chr(97 + i % 26)}{chr(97 + i // 26)} HTTP/1.1")
    again = TemplateMiner.from_state(miner.state())
    again.add("GET /posts/a-new-one HTTP/1.1")
    again.add("GET /posts/post-aa HTTP/1.1")
    found = _templates(again)
    assert found["GET /posts/<*> HTTP/1.1"] == 6
    assert found["GET /posts/post-aa HTTP/1.1"] == 2


def test_hostile_paths_keep_memory_bounded() -> None:
    """Deep paths of random names, long names and random query keys: the names kept, the
    endpoints and the templates stay bounded, and every line still gets a template."""
    import random

    rng = random.Random(3)

    def word(n: int) -> str:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))

    masker = EndpointMasker(lambda s: s, 100_000)
    for _ in range(3000):
        depth = rng.randrange(1, 40)
        path = "/" + "/".join(word(rng.randrange(1, 90)) for _ in range(depth))
        masker.masked(["GET", f"{path}?{word(5)}&{word(4)}=x", "HTTP/1.1"])
    assert masker._kept <= MAX_NAMES
    assert sum(len(v) for v in masker._names.values()) == masker._kept
    assert all(len(parent) <= 32 for parent in masker._names)
    assert masker.masked(["GET", "/" + "x/" * 40, "HTTP/1.1"])[1] == "/<*>"
    assert masker.masked(["GET", "/" + "y" * 70, "HTTP/1.1"])[1] == "/<*>"

    miner = TemplateMiner(MinerConfig(max_endpoints=300))
    for _ in range(3000):
        miner.add(f"GET /{word(8)}/{word(8)}?{word(6)} HTTP/1.1")
    assert miner.cluster_count <= 302
