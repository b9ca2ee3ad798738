"""Parsers of the structured formats: YAML (multi-document, with lines), JSON, TOML, INI and
``.env``, each filling a document's data, key lines and flat pairs."""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from typing import Any

import yaml

from prodshield.audit.documents.document import ConfigDoc, KeyPath, Pair
from prodshield.config.yamlpos import check_budget


def _flatten(doc: ConfigDoc, value: Any, path: KeyPath, line: int) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            child = (*path, k)
            _flatten(doc, v, child, doc.lines.get(child, line))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            child = (*path, i)
            _flatten(doc, v, child, doc.lines.get(child, line))
    else:
        doc.pairs.append(Pair(path, value, line))


def parse_yaml(doc: ConfigDoc) -> None:
    loader = yaml.SafeLoader("")
    for index, node in enumerate(yaml.compose_all(doc.text, Loader=yaml.SafeLoader)):
        if node is not None:
            check_budget(node)  # an audited file is outside text: no alias bomb, no deep nesting
        data = None if node is None else _yaml_build(node, (index,), doc.lines, loader)
        doc.data.append(data)
        _flatten(doc, data, (index,), 1)


def _yaml_build(
    node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], loader: yaml.SafeLoader
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = _yaml_build(value_node, path, lines, loader)
                for m in merged if isinstance(merged, list) else [merged]:
                    if isinstance(m, dict):
                        for k, v in m.items():
                            out.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = loader.construct_object(key_node)
            if key is True and key_node.value.lower() == "on":
                key = "on"  # YAML 1.1 turns a workflow's `on:` into True
            elif not isinstance(key, str | int):
                key = key_node.value
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            out[key] = _yaml_build(value_node, child, lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            child = (*path, i)
            lines[child] = item.start_mark.line + 1
            items.append(_yaml_build(item, child, lines, loader))
        return items
    return loader.construct_object(node)


def _locate_keys(doc: ConfigDoc, value: Any, path: KeyPath, start: int) -> None:
    """Line numbers for JSON/TOML keys: the first occurrence of the key after its parent."""
    if isinstance(value, dict):
        for k, v in value.items():
            pattern = re.compile(r'(?m)["\']?' + re.escape(str(k)) + r'["\']?\s*[:=]')
            m = pattern.search(doc.text, start)
            pos = m.start() if m else start
            line = doc.text.count("\n", 0, pos) + 1
            doc.lines[(*path, k)] = line
            _locate_keys(doc, v, (*path, k), pos)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            doc.lines[(*path, i)] = doc.lines.get(path, 1)
            _locate_keys(doc, v, (*path, i), start)


def parse_json(doc: ConfigDoc) -> None:
    data = json.loads(doc.text)
    doc.data = [data]
    _locate_keys(doc, data, (0,), 0)
    _flatten(doc, data, (0,), 1)


def parse_toml(doc: ConfigDoc) -> None:
    data = tomllib.loads(doc.text)
    doc.data = [data]
    _locate_keys(doc, data, (0,), 0)
    _flatten(doc, data, (0,), 1)


def parse_ini(doc: ConfigDoc) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True)
    try:
        parser.read_string(doc.text)
    except configparser.MissingSectionHeaderError:
        parser.read_string("[DEFAULT]\n" + doc.text)
    data: dict[str, dict[str, Any]] = {}
    for section in parser.sections():
        data[section] = dict(parser.items(section, raw=True))
    defaults = dict(parser.defaults())
    if defaults:
        data["DEFAULT"] = defaults
    doc.data = [data]
    # lines: scan the text ourselves (configparser keeps none)
    section = "DEFAULT"
    for n, raw in enumerate(doc.text.splitlines(), 1):
        s = raw.strip()
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1].strip()
            doc.lines[(0, section)] = n
        elif s and not s.startswith(("#", ";")):
            key = re.split(r"[=:]", s, maxsplit=1)[0].strip().lower()
            doc.lines.setdefault((0, section, key), n)
    _flatten(doc, data, (0,), 1)


def parse_dotenv(doc: ConfigDoc) -> None:
    for n, raw in enumerate(doc.text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("export "):
            s = s[7:].lstrip()
        if "=" not in s:
            continue
        name, _, value = s.partition("=")
        name = name.strip()
        value = value.strip()
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name):
            doc.pairs.append(Pair((0, name), value, n))
            doc.lines[(0, name)] = n
    doc.data = [{p.key: p.value for p in doc.pairs}]
