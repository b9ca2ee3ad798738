"""Gatus's condition language: a tokenizer/parser (no ``eval``) and an evaluator."""

from prodshield.conditions.evaluate import ConditionOutcome, Facts, describe, evaluate, evaluate_all
from prodshield.conditions.parser import (
    PLACEHOLDERS,
    Condition,
    ConditionSyntaxError,
    parse_condition,
)

__all__ = [
    "PLACEHOLDERS",
    "Condition",
    "ConditionOutcome",
    "ConditionSyntaxError",
    "Facts",
    "describe",
    "evaluate",
    "evaluate_all",
    "parse_condition",
]
