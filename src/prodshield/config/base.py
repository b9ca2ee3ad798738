"""The base of every configuration model: unknown keys are errors, nothing is coerced silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationInfo


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=False)


def unread(info: ValidationInfo, field: str) -> bool:
    """The command loading the file never reads ``field`` (the loader's ``unused``: a command
    that serves nothing never reads ``serve.token``, a read-only one no ``notifiers``), so a
    check only its reader needs is not made: such a value may still be an unset ``${VAR}`` as
    written."""
    unused = (info.context or {}).get("unused", ())
    return field in unused or field.split(".")[0] in unused
