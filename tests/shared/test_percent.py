"""text.percent: uptimes shown with one rounding, half up."""

from __future__ import annotations

from prodshield.text import percent


def test_a_value_rounded_to_three_decimals_is_not_rounded_down_again() -> None:
    # the aggregates store round(99.95508, 3) == 99.955; f"{99.955:.2f}" gives 99.95
    assert f"{99.955:.2f}" == "99.95"
    assert percent(99.955) == "99.96%"
    assert percent(99.954) == "99.95%"
    assert percent(100.0) == "100.00%" and percent(0.0) == "0.00%"


def test_missing_and_impossible_values_are_a_dash() -> None:
    assert percent(None) == "-" and percent(None, "no data") == "no data"
    assert percent(float("nan")) == "-" and percent(float("inf")) == "-"
