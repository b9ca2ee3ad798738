"""Fuzzed chaos inputs: the experiment loader/validator gives InvalidExperiment (never another
exception) on any document; the Toxiproxy API answers any body with 2xx/4xx and a JSON error
shape, and stays up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodshield.chaos.experiments import InvalidExperiment, load_experiment, validate_experiment
from support.chaos_proxy import ProxyThread
from support.fuzz import FUZZ, few

KEYS = st.sampled_from(
    [
        "title",
        "description",
        "method",
        "rollbacks",
        "steady-state-hypothesis",
        "probes",
        "type",
        "name",
        "provider",
        "tolerance",
        "module",
        "func",
        "arguments",
        "url",
        "path",
        "timeout",
        "configuration",
        "secrets",
        "export_as",
        "undoes",
        "pauses",
        "before",
        "after",
        "ref",
        "background",
        "runtime",
        "env",
        "key",
        "method",
        "target",
    ]
)
DOC = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | KEYS,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(KEYS | st.text(max_size=4), kids, max_size=5)
    ),
    max_leaves=25,
)


def validate(doc: object) -> None:
    try:
        validate_experiment(doc)  # type: ignore[arg-type]
    except InvalidExperiment as exc:
        assert exc.problems and all(p and isinstance(p, str) for p in exc.problems)


@FUZZ
@given(st.dictionaries(KEYS, DOC, max_size=8))  # the loader already refuses non-mappings
def test_validate_arbitrary_documents(doc: object) -> None:
    validate(doc)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@few(60)
@given(text=st.one_of(st.text(max_size=200), DOC.map(json.dumps)))
def test_load_arbitrary_files(
    tmp_path_factory: pytest.TempPathFactory, suffix: str, text: str
) -> None:
    path = tmp_path_factory.mktemp("exp") / f"e{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        doc = load_experiment(path)
    except InvalidExperiment as exc:
        assert exc.problems and all("\n" not in p for p in exc.problems), exc.problems
        return
    validate(doc)


@pytest.mark.parametrize("text", ["[" * 100_000, "a: &a [*a]\n", "{" * 50_000])
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_deep_documents(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"e{suffix}"
    path.write_text(text)
    try:
        validate(load_experiment(path))
    except InvalidExperiment:
        pass


@pytest.fixture(scope="module")
def api() -> Iterator[ProxyThread]:
    p = ProxyThread()
    p.create("x", "127.0.0.1:1", listen="127.0.0.1:0")
    yield p
    p.close()


BODIES = st.one_of(
    DOC.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=100),
    st.dictionaries(
        st.sampled_from(
            ["name", "upstream", "listen", "enabled", "type", "stream", "toxicity", "attributes"]
        ),
        DOC,
        max_size=6,
    ).map(lambda d: json.dumps(d).encode()),
)
ROUTES = st.sampled_from(
    [
        ("POST", "/proxies"),
        ("POST", "/populate"),
        ("POST", "/proxies/x"),
        ("PATCH", "/proxies/x"),
        ("POST", "/proxies/x/toxics"),
        ("POST", "/proxies/x/toxics/t"),
        ("PATCH", "/proxies/x/toxics/t"),
    ]
)


@few(150)
@given(route=ROUTES, body=BODIES)
def test_api_garbage_bodies(api: ProxyThread, route: tuple[str, str], body: bytes) -> None:
    method, path = route
    status, _, raw = api.request(method, path, body)
    assert 200 <= status < 500, (status, raw)
    if status >= 400:
        data = json.loads(raw)
        # Toxiproxy adds "proxies" (those created before the failure) to a /populate error
        assert {"error", "status"} <= set(data) <= {"error", "status", "proxies"}
        assert data["status"] == status and isinstance(data["error"], str)
    # clean up whatever was created, and prove the server still answers
    for name in list(api.json("GET", "/proxies")[1]):
        if name != "x":
            api.request("DELETE", f"/proxies/{name}")
    assert api.json("GET", "/version")[0] == 200 or api.request("GET", "/proxies")[0] == 200


# Regression found by the fuzzer: a control character gave a two-line error.
def test_control_character_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("title: x\x1f\n")
    with pytest.raises(InvalidExperiment) as info:
        load_experiment(path)
    assert len(info.value.problems) == 1 and "\n" not in info.value.problems[0]
    assert "unacceptable character #x001f" in info.value.problems[0]
