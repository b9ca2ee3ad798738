"""The base of every view model: what a capability's read model returns and the JSON API sends.

A view is a pydantic model: the web app serialises it (``View.json_bytes``), the dashboard's
templates read its attributes, and ``web/openapi.py`` generates the OpenAPI document from the same
classes, so a resource is described once. ``extra="forbid"`` puts ``additionalProperties: false``
in the schema: a key the model does not declare cannot reach a response unnoticed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

JSONObject = dict[str, Any]
"""A JSON object whose keys the view does not fix (a stored journal, a finding's source)."""


class View(BaseModel):
    """A read model's answer: validated when built, serialised by alias (``24h``)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        serialize_by_alias=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    def json_dict(self) -> dict[str, Any]:
        """The JSON object the API sends (aliases, JSON types). A field with a default that was
        never set is left out: ``evidence`` only on one incident, ``ended_now`` only on expire."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_unset=True).encode()

    def __getitem__(self, key: str) -> Any:
        """A view reads like the JSON object it is sent as: ``view["24h"]``, ``row["status"]``
        (what the pages' templates and the feed read)."""
        fields = type(self).model_fields
        if key not in fields:
            key = next((n for n, f in fields.items() if f.alias == key), key)
        if key not in fields:
            raise KeyError(key)
        return getattr(self, key)
