"""The base of every configuration model: unknown keys are errors, nothing is coerced silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=False, use_attribute_docstrings=True
    )
