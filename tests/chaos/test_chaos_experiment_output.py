"""What a journal keeps of a large activity output (chaos/experiments/output.py)."""

from __future__ import annotations

import json

from prodshield.chaos.experiments.output import KEPT_BYTES, kept_output


def test_a_small_output_is_kept_as_it_is() -> None:
    output = {"status": 200, "headers": {"a": "b"}, "body": "ok"}
    assert kept_output(output) == (output, None)


def test_a_large_parsed_json_body_keeps_its_status_and_the_start_of_its_text() -> None:
    body = {"items": [{"id": i, "name": f"item {i}"} for i in range(100_000)]}
    kept, truncated = kept_output({"status": 200, "headers": {}, "body": body})
    assert kept["status"] == 200 and kept["headers"] == {}
    assert kept["body"].startswith('{"items": [{"id": 0')
    assert "[cut by prodshield: " in kept["body"]
    assert truncated is not None and truncated["size"] > 2_000_000
    assert truncated["kept"] <= 2 * KEPT_BYTES
    assert len(json.dumps(kept)) <= 2 * KEPT_BYTES


def test_a_long_list_becomes_the_start_of_its_text() -> None:
    kept, truncated = kept_output(list(range(200_000)))
    assert isinstance(kept, str) and kept.startswith("[0, 1, 2")
    assert truncated is not None and truncated["kept"] < 2 * KEPT_BYTES


def test_multibyte_text_is_cut_on_a_character_boundary() -> None:
    kept, truncated = kept_output("é" * KEPT_BYTES)
    assert kept.startswith("é" * 100) and "\ufffd" not in kept
    assert truncated == {
        "size": 2 * KEPT_BYTES + 2,
        "kept": len(json.dumps(kept, ensure_ascii=False).encode()),
    }
