"""The ``shield.yaml`` reference and JSON Schema, generated from the configuration models.

One walk over :class:`ShieldConfig` yields a :class:`Section` per mapping (``serve``,
``serve.limits``, ``checks[]`` and one per check ``type``...) with a :class:`Key` per field: its
type, default, allowed values, an example and its docstring. ``prodshield config reference``
renders them as the Markdown of docs/config.md and ``prodshield config schema`` prints the JSON
Schema editors validate ``shield.yaml`` with; a test keeps both files in docs/ current.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import inspect
import itertools
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from prodshield.config.base import StrictModel
from prodshield.config.loader import bare
from prodshield.config.schema import ShieldConfig
from prodshield.config.types import (
    INTERPOLATED_PATTERN,
    parse_duration,
    parse_size,
    write_duration,
)

CAPABILITIES: dict[str, tuple[str, str | None]] = {
    "version": ("all", None),
    "storage": ("store (every capability)", "db.md"),
    "retention": ("serve and `db prune` (the store's retention)", "db.md"),
    "defaults": ("monitor", "monitor.md"),
    "environments": ("monitor (and logs, by `environment`)", "monitor.md"),
    "checks": ("monitor", "monitor.md"),
    "notifiers": ("notify", "notify.md"),
    "maintenance": ("monitor (maintenance windows)", "maintenance.md"),
    "logs": ("logs", "logs.md"),
    "audit": ("audit", "audit.md"),
    "chaos": ("chaos", "chaos-proxy.md"),
    "serve": ("serve (status page, dashboard, API)", "web.md"),
    "cluster": ("monitor and serve (several instances)", "monitor.md"),
}
"""Which capability reads each top-level section, and the page that explains it."""


@dataclass(frozen=True)
class Key:
    """One key of a mapping in ``shield.yaml``."""

    name: str
    type: str
    default: str
    description: str
    example: str | None
    """``name: value`` as YAML; None for a mapping described by its own section."""
    section: str | None = None
    """The section that describes this key's own keys (a nested mapping)."""
    required: bool = False


@dataclass
class Section:
    """One mapping of ``shield.yaml``: its path (``serve.limits``) and its keys."""

    path: str
    capability: str
    doc: str
    keys: list[Key] = field(default_factory=list)
    page: str | None = None


def sections() -> list[Section]:
    """Every mapping of ``shield.yaml``, in file order: top level first, then each section."""
    top = Section("(top level)", "all", "The keys at the top of the file.")
    out: list[Section] = [top]
    for name, info in ShieldConfig.model_fields.items():
        capability, page = CAPABILITIES.get(name, ("all", None))
        target = _nested(info.annotation)
        if target is None:
            top.keys.append(_key(name, info))
            continue
        path = _child_path("", name, info.annotation)
        top.keys.append(_key(name, info, section=path))
        _walk(target, path, capability, page, out)
    return out


def _walk(
    target: type[BaseModel] | tuple[type[BaseModel], ...],
    path: str,
    capability: str,
    page: str | None,
    out: list[Section],
) -> None:
    if isinstance(target, tuple):  # a union chosen by ``type:``
        base = _common_base(target)
        common = set(base.model_fields)
        section = Section(path, capability, _doc(base), page=page)
        for name, info in base.model_fields.items():
            section.keys.append(_key(name, info))
        section.keys.insert(0, _type_key(target))
        out.append(section)
        for member in target:
            tag = _tag(member)
            sub = Section(f"{path} type: {tag}", capability, _doc(member), page=page)
            nested: list[tuple[str, FieldInfo]] = []
            for name, info in member.model_fields.items():
                if name in common or name == "type":
                    continue
                sub.keys.append(_member_key(path, name, info, nested))
            out.append(sub)
            for name, info in nested:
                _descend(name, info, path, capability, page, out)
        return
    section = Section(path, capability, _doc(target), page=page)
    out.append(section)
    nested = []
    for name, info in target.model_fields.items():
        section.keys.append(_member_key(path, name, info, nested))
    for name, info in nested:
        _descend(name, info, path, capability, page, out)


def _member_key(path: str, name: str, info: FieldInfo, nested: list[tuple[str, FieldInfo]]) -> Key:
    """The row for one field; a field holding mappings is also queued for its own section."""
    if _nested(info.annotation) is None:
        return _key(name, info)
    nested.append((name, info))
    return _key(name, info, section=_child_path(path, info.alias or name, info.annotation))


def _descend(
    name: str, info: FieldInfo, path: str, capability: str, page: str | None, out: list[Section]
) -> None:
    target = _nested(info.annotation)
    assert target is not None
    _walk(target, _child_path(path, info.alias or name, info.annotation), capability, page, out)


def _child_path(parent: str, name: str, annotation: Any) -> str:
    base = f"{parent}.{name}" if parent else name
    kind = _container(annotation)
    if kind == "list":
        return f"{base}[]"
    if kind == "dict":
        return f"{base}.<name>"
    return base


def _container(annotation: Any) -> str | None:
    origin = typing.get_origin(bare(annotation))
    if origin is list:
        return "list"
    if origin is dict:
        return "dict"
    return None


def _models(annotation: Any) -> type[BaseModel] | tuple[type[BaseModel], ...] | None:
    annotation = bare(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        if all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
            return tuple(members)
    return None


def _nested(annotation: Any) -> type[BaseModel] | tuple[type[BaseModel], ...] | None:
    """The model(s) a field holds, directly or as the items of a list or the values of a map."""
    found = _models(annotation)
    if found is not None:
        return found
    stripped = bare(annotation)
    args = typing.get_args(stripped)
    if typing.get_origin(stripped) is list and args:
        return _models(args[0])
    if typing.get_origin(stripped) is dict and len(args) == 2:
        return _models(args[1])
    return None


def _common_base(members: tuple[type[BaseModel], ...]) -> type[BaseModel]:
    for cls in members[0].__mro__:
        if all(issubclass(m, cls) for m in members) and issubclass(cls, BaseModel):
            return cls
    raise TypeError("no common base")  # pragma: no cover - every union here has one


def _tag(member: type[BaseModel]) -> str:
    args = typing.get_args(member.model_fields["type"].annotation)
    return str(args[0])


def _type_key(members: tuple[type[BaseModel], ...]) -> Key:
    tags = [_tag(m) for m in members]
    return Key(
        name="type",
        type="one of " + ", ".join(f"`{t}`" for t in tags),
        default="required",
        description="Which kind this is; each kind's own keys are in the sections below.",
        example=f"type: {tags[0]}",
        required=True,
    )


def _doc(model: type[BaseModel]) -> str:
    doc = model.__doc__ or ""
    if doc.startswith(("A base class for creating Pydantic models", "Usage docs:")):
        return ""
    return _markdown(" ".join(doc.split()))


def _markdown(text: str) -> str:
    """Docstrings use reST's double backticks; Markdown wants single ones."""
    return text.replace("``", "`")


def _key(name: str, info: FieldInfo, *, section: str | None = None) -> Key:
    alias = info.alias or name
    required = info.is_required()
    annotation = info.rebuild_annotation()
    description = _markdown(" ".join((info.description or "").split()))
    if section is not None:
        return Key(
            name=alias,
            type=_type_name(annotation),
            default="required" if required else _show_default(info, annotation),
            description=description,
            example=None,
            section=section,
            required=required,
        )
    return Key(
        name=alias,
        type=_type_name(annotation) + _constraints(info, annotation),
        default="required" if required else _show_default(info, annotation),
        description=description,
        example=_example(alias, info, annotation),
        required=required,
    )


def _marker(annotation: Any) -> str | None:
    """``duration``, ``size`` or ``condition`` when the annotation carries their validator."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    for meta in typing.get_args(annotation)[1:]:
        func = getattr(meta, "func", None)
        if func is parse_duration:
            return "duration"
        if func is parse_size:
            return "size"
        if getattr(func, "__name__", "") == "_valid_condition":
            return "condition"
    return None


_NAMES = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dt.datetime: "date-time",
}


def _type_name(annotation: Any) -> str:
    marker = _marker(annotation)
    if marker is not None:
        return marker
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
            return "mapping (by `type`)"
        return " or ".join(_type_name(m) for m in members)
    if origin is Literal:
        return "one of " + ", ".join(f"`{_yaml_value(a)}`" for a in args)
    if origin is list:
        return f"list of {_plural(_type_name(args[0]))}"
    if origin is dict:
        return f"mapping of names to {_plural(_type_name(args[1]))}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _plural(name: str) -> str:
    if name.startswith(("one of", "mapping", "list")) or " or " in name:
        return name
    return name + "s"


def _constraints(info: FieldInfo, annotation: Any) -> str:
    marker = _marker(annotation) or _marker(_strip_optional(annotation))
    show = write_duration if marker == "duration" else _number
    parts: list[str] = []
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            parts.append(f"at least {show(meta.ge)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Gt):
            parts.append(f"more than {show(meta.gt)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Le):
            parts.append(f"at most {show(meta.le)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Lt):
            parts.append(f"less than {show(meta.lt)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.MinLen) and meta.min_length > 1:
            parts.append(f"at least {meta.min_length} characters")
        elif isinstance(meta, annotated_types.MaxLen):
            parts.append(f"at most {meta.max_length} characters")
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str):
            parts.append(f"matching `{pattern}`")
    return (", " + ", ".join(parts)) if parts else ""


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _show_default(info: FieldInfo, annotation: Any) -> str:
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, list | dict) and not value:
        return "`[]`" if isinstance(value, list) else "`{}`"
    if isinstance(value, BaseModel):
        return "see its section"
    if isinstance(value, list) and all(isinstance(v, BaseModel) for v in value):
        return "see its description"
    return f"`{_yaml_value(_display(value, annotation))}`"


def _display(value: Any, annotation: Any) -> Any:
    """A default as a user writes it: durations as ``30s``."""
    marker = _marker(annotation) or _marker(_strip_optional(annotation))
    if marker == "duration" and isinstance(value, int | float):
        return write_duration(value)
    if marker == "size" and isinstance(value, int):
        return format_size(value)
    return value


def format_size(size: int) -> str:
    """Bytes the way a user writes them: ``67108864`` -> ``64MiB``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def _example(alias: str, info: FieldInfo, annotation: Any) -> str | None:
    if info.examples:
        return f"{alias}: {_yaml_value(info.examples[0])}"
    value = None if info.is_required() else info.get_default(call_default_factory=True)
    if value is None or (isinstance(value, list | dict) and not value):
        return None
    return f"{alias}: {_yaml_value(_display(value, annotation))}"


def _yaml_value(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if text.endswith("..."):
        text = text[: -len("...")].strip()
    return text


def example_value(info: FieldInfo) -> Any:
    """The value of a key's example as YAML loads it (for the test that validates examples)."""
    annotation = info.rebuild_annotation()
    example = _example(info.alias or "key", info, annotation)
    if example is None:
        return None
    return yaml.safe_load(example)[info.alias or "key"]


def walk_fields() -> list[tuple[str, str, FieldInfo]]:
    """Every (section path, key, field) of the models, for tests."""
    out: list[tuple[str, str, FieldInfo]] = []

    def visit(model: type[BaseModel], path: str, seen: set[type[BaseModel]]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            out.append((path, info.alias or name, info))
            target = _nested(info.annotation)
            members = target if isinstance(target, tuple) else (target,) if target else ()
            for member in members:
                visit(member, _child_path(path, info.alias or name, info.annotation), seen)

    visit(ShieldConfig, "", set())
    return out


# -- Markdown --------------------------------------------------------------------------------

BEGIN = "<!-- reference: begin (generated by `prodshield config reference`; do not edit) -->"
END = "<!-- reference: end -->"


def _anchor(path: str) -> str:
    """The id Python-Markdown's toc and GitHub both give a heading made of ``path``."""
    text = re.sub(r"[^\w\s-]", "", path.lower())
    return re.sub(r"[\s]+", "-", text.strip())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    """The generated part of docs/config.md."""
    lines: list[str] = [BEGIN, ""]
    current_top: str | None = None
    for section in sections():
        if section.path == "(top level)":
            lines += ["## Top level", ""]
        else:
            top = re.split(r"[.\[ ]", section.path, maxsplit=1)[0]
            if top != current_top:
                capability, page = CAPABILITIES.get(top, ("all", None))
                where = f"; see [{page}]({page})" if page else ""
                lines += [f"## `{section.path}`", "", f"Read by: {capability}{where}.", ""]
            else:
                lines += [f"### `{section.path}`", ""]
            current_top = top
        if section.doc:
            lines.append(section.doc)
            lines.append("")
        lines.append("| Key | Type | Default | Description |")
        lines.append("| --- | --- | --- | --- |")
        for key in section.keys:
            description = key.description or ""
            if key.section is not None:
                see = f"See [`{key.section}`](#{_anchor(key.section)})."
                description = f"{description} {see}".strip()
            elif key.example is not None:
                description = f"{description} Example: `{key.example}`".strip()
            lines.append(
                "| "
                + " | ".join(
                    _cell(part) for part in (f"`{key.name}`", key.type, key.default, description)
                )
                + " |"
            )
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def replace_generated(document: str, generated: str | None = None) -> str:
    """``document`` with the text between the markers replaced by a fresh reference."""
    generated = render_markdown() if generated is None else generated
    start = document.index(BEGIN)
    end = document.index(END) + len(END)
    return document[:start] + generated.rstrip("\n") + document[end:]


def generated_part(document: str) -> str:
    """The text between the markers (both included) of a docs/config.md."""
    start = document.index(BEGIN)
    end = document.index(END) + len(END)
    return document[start:end] + "\n"


# -- JSON Schema -----------------------------------------------------------------------------


class _ShieldJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, adjusted to what ``shield.yaml`` accepts before validation.

    A number or a boolean may be written as ``${VAR}`` (it is interpolated, then validated), and
    the generated titles ("Max Connections") add nothing to the descriptions.
    """

    def _interpolable(self, schema: JsonSchemaValue) -> JsonSchemaValue:
        return {"anyOf": [schema, {"type": "string", "pattern": INTERPOLATED_PATTERN}]}

    def int_schema(self, schema: core_schema.IntSchema) -> JsonSchemaValue:
        return self._interpolable(super().int_schema(schema))

    def float_schema(self, schema: core_schema.FloatSchema) -> JsonSchemaValue:
        return self._interpolable(super().float_schema(schema))

    def bool_schema(self, schema: core_schema.BoolSchema) -> JsonSchemaValue:
        return self._interpolable(super().bool_schema(schema))

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: Any, mode: Any = "validation") -> JsonSchemaValue:
        out = super().generate(schema, mode=mode)
        out = _descriptions_in_markdown(out)
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "shield.yaml",
            "description": "The prodshield configuration (docs/config.md).",
            **{k: v for k, v in out.items() if k not in ("title", "description")},
        }


def _descriptions_in_markdown(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _markdown(" ".join(v.split()))
            if k == "description" and isinstance(v, str)
            else _descriptions_in_markdown(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_descriptions_in_markdown(v) for v in value]
    return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``shield.yaml`` (draft 2020-12), for editors and CI linters."""
    return ShieldConfig.model_json_schema(schema_generator=_ShieldJsonSchema)


def _with_docstrings() -> None:
    """Give every config model's fields their attribute docstrings (the string under a field) as
    descriptions, as pydantic's ``use_attribute_docstrings`` would: read here, for the reference
    and the schema alone, rather than as each model is made (finding and parsing each class's
    source cost every command that loads shield.yaml about 0.2 CPU-s). A field takes the
    docstring in the class that declares it; the models are then rebuilt, those a model holds
    first, so that the JSON Schema has them too."""
    models: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [StrictModel]
    while todo:
        cls = todo.pop()
        if cls not in models:
            models.append(cls)
            todo.extend(cls.__subclasses__())
    for cls in models:
        for name, info in cls.__pydantic_fields__.items():
            owner = next(
                (c for c in cls.__mro__ if name in vars(c).get("__annotations__", {})), None
            )
            if info.description is None and owner is not None:
                info.description = _attribute_docstrings(owner).get(name)
    done: set[type[BaseModel]] = set()

    def rebuild(cls: type[BaseModel]) -> None:
        if cls not in done:
            done.add(cls)
            for info in cls.__pydantic_fields__.values():
                for inner in _models_in(info.annotation):
                    rebuild(inner)
            cls.model_rebuild(force=True)

    for cls in models:
        rebuild(cls)


@functools.cache
def _module_classes(module: str) -> dict[str, ast.ClassDef]:
    tree = ast.parse(inspect.getsource(sys.modules[module]))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """``name: str`` followed by a string, in the body of ``cls``: the string, cleaned as a
    docstring, by the name."""
    node = _module_classes(cls.__module__).get(cls.__name__)
    out: dict[str, str] = {}
    for before, stmt in itertools.pairwise(node.body if node is not None else []):
        if (
            isinstance(before, ast.AnnAssign)
            and isinstance(before.target, ast.Name)
            and isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            out[before.target.id] = inspect.cleandoc(stmt.value.value)
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The config models an annotation names, at any depth (``list[CheckConfig]``...)."""
    if isinstance(annotation, type) and issubclass(annotation, StrictModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


_with_docstrings()
