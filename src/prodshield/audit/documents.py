"""Configuration files parsed into something rules can read (never grepped).

:func:`parse_document` recognises a file's kind from its name and content and parses it: Python
with :mod:`ast`, YAML (multi-document, with line numbers), JSON, TOML, INI, ``.env``, nginx,
Dockerfile, ``pg_hba.conf``, ``redis.conf`` and ``postgresql.conf``. Every structured document
also exposes flat ``pairs`` (key path, value, line) and ``env_vars`` (name, value, line) so
generic rules work the same on all of them.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from prodshield.config.yamlpos import check_budget

KeyPath = tuple[Any, ...]


@dataclass(frozen=True)
class Pair:
    path: KeyPath
    value: Any
    line: int

    @property
    def key(self) -> str:
        for part in reversed(self.path):
            if isinstance(part, str):
                return part
        return ""


@dataclass
class Directive:
    """One nginx / redis / Dockerfile / pg_hba line-level statement."""

    name: str
    args: list[str]
    line: int
    block: list[Directive] | None = None
    raw: str = ""


@dataclass
class ConfigDoc:
    path: Path
    kind: str
    text: str
    data: list[Any] = field(default_factory=list)
    """Parsed documents (YAML may hold several)."""
    lines: dict[KeyPath, int] = field(default_factory=dict)
    """Line of each key path; every path starts with the document's index in ``data``."""
    pairs: list[Pair] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)
    tree: ast.Module | None = None
    error: str | None = None
    _nodes: list[ast.AST] | None = None
    _env: list[tuple[str, str, int]] | None = None
    memo: dict[str, Any] = field(default_factory=dict)
    """Per-document results rules share (computed once, e.g. Python assignments and calls)."""

    def nodes(self) -> list[ast.AST]:
        """Every AST node of a Python document, walked once and shared by all rules."""
        if self._nodes is None:
            self._nodes = list(ast.walk(self.tree)) if self.tree is not None else []
        return self._nodes

    def line_of(self, path: KeyPath, default: int = 1) -> int:
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return default

    def env_vars(self) -> list[tuple[str, str, int]]:
        """Environment variables this file sets (``.env``, compose/k8s/workflow env, ENV, os.environ)."""
        if self._env is None:
            self._env = list(self._env_vars())
        return self._env

    def _env_vars(self) -> Iterator[tuple[str, str, int]]:
        if self.kind == "dotenv":
            for p in self.pairs:
                yield p.key, str(p.value), p.line
        elif self.kind == "dockerfile":
            for d in self.directives:
                if d.name in ("ENV", "ARG"):
                    for name, value in dockerfile_assignments(d):
                        yield name, value, d.line
        elif self.kind == "python" and self.tree is not None:
            yield from _python_environ(self.nodes())
        elif self.data:
            for p in self.pairs:
                parents = [x.lower() for x in p.path[:-1] if isinstance(x, str)]
                if not parents or parents[-1] not in ("environment", "env"):
                    # k8s env lists: [{name: X, value: Y}]
                    if p.key == "value" and len(p.path) >= 3 and isinstance(p.path[-2], int):
                        holder = p.path[:-2]
                        if holder and holder[-1] == "env":
                            name = _get(self.data, (*p.path[:-1], "name"))
                            if isinstance(name, str):
                                yield name, _scalar_text(p.value), p.line
                    continue
                if isinstance(p.path[-1], int) and isinstance(p.value, str) and "=" in p.value:
                    name, _, value = p.value.partition("=")
                    yield name.strip(), value.strip(), p.line
                elif isinstance(p.path[-1], str):
                    yield p.key, _scalar_text(p.value), p.line

    def settings(self) -> Iterator[tuple[str, Any, int]]:
        """(key, value, line) from pairs and env vars, each location once."""
        seen: set[tuple[str, int]] = set()
        for p in self.pairs:
            if p.key and (p.key, p.line) not in seen:
                seen.add((p.key, p.line))
                yield p.key, p.value, p.line
        for name, value, line in self.env_vars():
            if (name, line) not in seen:
                seen.add((name, line))
                yield name, value, line

    def strings(self) -> Iterator[tuple[str, int]]:
        """Every string value (for DSNs and URLs), with its line."""
        if self.tree is not None:
            for node in self.nodes():
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    yield node.value, node.lineno
            return
        for p in self.pairs:
            if isinstance(p.value, str):
                yield p.value, p.line
        if self.kind == "dockerfile":
            for d in self.directives:
                for a in d.args:
                    yield a, d.line


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _get(data: list[Any], path: KeyPath) -> Any:
    cur: Any = data
    for part in path:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def norm_key(key: str) -> str:
    """``SSL_Verify`` / ``ssl-verify`` / ``sslVerify`` -> ``sslverify``."""
    return re.sub(r"[^a-z0-9]", "", str(key).lower())


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().strip("'\"").lower() in (
        "1",
        "true",
        "yes",
        "on",
    )


def falsy(value: Any) -> bool:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    return isinstance(value, str) and value.strip().strip("'\"").lower() in (
        "0",
        "false",
        "no",
        "off",
    )


# --- recognising a file ------------------------------------------------------------------

DOTENV_NAMES = re.compile(r"^(\.env(\..+)?|.+\.env)$")
COMPOSE_NAMES = re.compile(r"^(docker-)?compose([.-].+)?\.ya?ml$")


def classify(path: Path) -> str | None:
    """The kind of config file ``path`` is by name, or None when its name says nothing."""
    name = path.name.lower()
    suffix = path.suffix.lower()
    parts = [p.lower() for p in PurePosixPath(path.as_posix()).parts]
    if suffix == ".py":
        return "python"
    if name == "dockerfile" or name.startswith("dockerfile.") or name.endswith(".dockerfile"):
        return "dockerfile"
    if name == "pg_hba.conf":
        return "pghba"
    if name == "postgresql.conf" or name.endswith(".postgresql.conf"):
        return "pgconf"
    if name == "mongod.conf":
        return "yaml"
    if name.startswith("redis") and suffix == ".conf":
        return "redis"
    if DOTENV_NAMES.match(name):
        return "dotenv"
    if suffix in (".yml", ".yaml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    if suffix == ".toml":
        return "toml"
    if suffix in (".ini", ".cfg", ".cnf"):
        return "ini"
    if suffix == ".conf" and (name == "nginx.conf" or any("nginx" in p for p in parts[:-1])):
        return "nginx"
    if suffix == ".conf":
        return "conf"  # decided by content
    return None


def parse_document(path: Path, text: str) -> ConfigDoc | None:
    """Parse ``text`` as the config file ``path`` is; None when it is not a config file."""
    kind = classify(path)
    if kind is None:
        return None
    if kind == "conf":
        if re.search(r"^\s*(server|http|events|location\s+\S+)\s*\{", text, re.M):
            kind = "nginx"
        else:
            return None
    doc = ConfigDoc(path=path, kind=kind, text=text)
    try:
        _PARSERS[kind](doc)
    except Exception as exc:  # any parser failure on bad input: counted and skipped, never raised
        doc.error = f"cannot parse as {kind}: {str(exc).splitlines()[0] if str(exc) else exc}"
        doc.kind = "unparsed"
        return doc
    if doc.kind == "yaml":
        doc.kind = _yaml_subkind(path, doc.data)
    return doc


def _yaml_subkind(path: Path, docs: list[Any]) -> str:
    parts = [p.lower() for p in PurePosixPath(path.as_posix()).parts]
    if len(parts) >= 3 and parts[-3] == ".github" and parts[-2] == "workflows":
        return "workflow"
    maps = [d for d in docs if isinstance(d, dict)]
    if any("apiVersion" in d and "kind" in d for d in maps):
        return "k8s"
    if COMPOSE_NAMES.match(path.name.lower()):
        return "compose"
    for d in maps:
        services = d.get("services")
        if isinstance(services, dict) and services:
            keys = {"image", "build", "ports", "volumes", "environment", "command"}
            if all(isinstance(s, dict) and keys & set(s) for s in services.values()):
                return "compose"
    return "yaml"


# --- parsers -------------------------------------------------------------------------------


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


def _parse_yaml(doc: ConfigDoc) -> None:
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


def _parse_json(doc: ConfigDoc) -> None:
    data = json.loads(doc.text)
    doc.data = [data]
    _locate_keys(doc, data, (0,), 0)
    _flatten(doc, data, (0,), 1)


def _parse_toml(doc: ConfigDoc) -> None:
    data = tomllib.loads(doc.text)
    doc.data = [data]
    _locate_keys(doc, data, (0,), 0)
    _flatten(doc, data, (0,), 1)


def _parse_ini(doc: ConfigDoc) -> None:
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


def _parse_dotenv(doc: ConfigDoc) -> None:
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


def _parse_python(doc: ConfigDoc) -> None:
    doc.tree = ast.parse(doc.text, filename=str(doc.path))
    for node in ast.walk(doc.tree):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for t in targets:
            name = assigned_name(t)
            if name and value is not None:
                _flatten_ast(doc, value, (0, name))


def assigned_name(target: ast.expr) -> str | None:
    """``X = ...`` -> X; ``app.config["X"] = ...`` -> X; ``app.x = ...`` -> x."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        key = target.slice.value
        return key if isinstance(key, str) else None
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def _flatten_ast(doc: ConfigDoc, node: ast.expr, path: KeyPath) -> None:
    doc.lines.setdefault(path, node.lineno)
    if isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values, strict=True):
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                doc.lines[(*path, k.value)] = k.lineno
                _flatten_ast(doc, v, (*path, k.value))
    elif isinstance(node, ast.List | ast.Tuple | ast.Set):
        for i, v in enumerate(node.elts):
            _flatten_ast(doc, v, (*path, i))
    elif isinstance(node, ast.Constant):
        doc.pairs.append(Pair(path, node.value, node.lineno))


def _python_environ(nodes: list[ast.AST]) -> Iterator[tuple[str, str, int]]:
    """``os.environ["X"] = "v"`` and ``os.environ.setdefault("X", "v")``."""
    for node in nodes:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if (
                    isinstance(t, ast.Subscript)
                    and dotted(t.value).endswith("environ")
                    and isinstance(t.slice, ast.Constant)
                    and isinstance(node.value, ast.Constant)
                ):
                    yield str(t.slice.value), str(node.value.value), node.lineno
        elif isinstance(node, ast.Call) and dotted(node.func).endswith("environ.setdefault"):
            args = node.args
            if len(args) == 2 and all(isinstance(a, ast.Constant) for a in args):
                yield (
                    str(args[0].value),  # type: ignore[attr-defined]
                    str(args[1].value),  # type: ignore[attr-defined]
                    node.lineno,
                )


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain, else ''."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Call):
        inner = dotted(node.func)
        return ".".join([inner + "()", *reversed(parts)]) if inner else ""
    return ""


def _tokenize_nginx(text: str) -> Iterator[tuple[str, int]]:
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            yield c, line
            i += 1
        elif c in "\"'":
            j = i + 1
            buf = []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                if text[j] == "\n":
                    line += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise ValueError(f"line {line}: unterminated quote")
            yield "\x00" + "".join(buf), line
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};":
                j += 1
            yield text[i:j], line
            i = j


def _parse_nginx(doc: ConfigDoc) -> None:
    stack: list[list[Directive]] = [doc.directives]
    words: list[tuple[str, int]] = []
    for tok, line in _tokenize_nginx(doc.text):
        if tok in (";", "{"):
            if not words:
                raise ValueError(f"line {line}: unexpected {tok!r}")
            d = Directive(
                words[0][0].lstrip("\x00"), [w.lstrip("\x00") for w, _ in words[1:]], words[0][1]
            )
            stack[-1].append(d)
            words = []
            if tok == "{":
                d.block = []
                stack.append(d.block)
        elif tok == "}":
            if words or len(stack) == 1:
                raise ValueError(f"line {line}: unexpected '}}'")
            stack.pop()
        else:
            words.append((tok, line))
    if len(stack) != 1 or words:
        raise ValueError("unbalanced braces")


def walk_directives(ds: list[Directive]) -> Iterator[tuple[Directive, list[Directive]]]:
    """Every directive with the block (sibling list) it sits in."""
    for d in ds:
        yield d, ds
        if d.block is not None:
            yield from walk_directives(d.block)


def _parse_dockerfile(doc: ConfigDoc) -> None:
    buf, start = "", 0
    escape = "\\"
    for n, raw in enumerate(doc.text.splitlines(), 1):
        s = raw.strip()
        if not buf:
            m = re.match(r"#\s*escape\s*=\s*(\S)", s)
            if m and not doc.directives:
                escape = m.group(1)
            if not s or s.startswith("#"):
                continue
            start = n
        elif s.startswith("#"):
            continue
        if s.endswith(escape):
            buf += s[:-1] + " "
            continue
        buf += s
        parts = buf.split(None, 1)
        name = parts[0].upper()
        rest = parts[1] if len(parts) > 1 else ""
        doc.directives.append(Directive(name, _docker_args(rest), start, raw=rest))
        buf = ""
    if buf:
        parts = buf.split(None, 1)
        doc.directives.append(
            Directive(parts[0].upper(), _docker_args(parts[1] if len(parts) > 1 else ""), start)
        )


def _docker_args(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            value = json.loads(rest)
            if isinstance(value, list):
                return [str(v) for v in value]
        except ValueError:
            pass
    import shlex

    try:
        return shlex.split(rest, posix=True)
    except ValueError:
        return rest.split()


def dockerfile_assignments(d: Directive) -> Iterator[tuple[str, str]]:
    """``ENV A=1 B=2`` / ``ENV A 1`` / ``ARG A=1`` -> (name, value) pairs."""
    if not d.args:
        return
    if d.name == "ENV" and "=" not in d.args[0]:
        yield d.args[0], " ".join(d.args[1:])
        return
    for a in d.args:
        name, sep, value = a.partition("=")
        if sep:
            yield name, value


def _parse_lines(doc: ConfigDoc) -> None:
    """pg_hba.conf, redis.conf: whitespace-separated words per line, ``#`` comments."""
    for n, raw in enumerate(doc.text.splitlines(), 1):
        s = raw.split("#", 1)[0].strip() if doc.kind == "pghba" else raw.strip()
        if not s or s.startswith("#"):
            continue
        import shlex

        try:
            words = shlex.split(s, comments=True)
        except ValueError:
            words = s.split()
        if words:
            doc.directives.append(Directive(words[0].lower(), words[1:], n, raw=s))


def _parse_pgconf(doc: ConfigDoc) -> None:
    for n, raw in enumerate(doc.text.splitlines(), 1):
        s = raw.split("#", 1)[0].strip()
        m = re.match(r"([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*(.*)$", s)
        if not s or not m:
            continue
        value = m.group(2).strip().strip("'\"")
        doc.pairs.append(Pair((0, m.group(1)), value, n))
        doc.lines[(0, m.group(1))] = n
    doc.data = [{p.key: p.value for p in doc.pairs}]


_PARSERS = {
    "python": _parse_python,
    "yaml": _parse_yaml,
    "json": _parse_json,
    "toml": _parse_toml,
    "ini": _parse_ini,
    "dotenv": _parse_dotenv,
    "nginx": _parse_nginx,
    "dockerfile": _parse_dockerfile,
    "pghba": _parse_lines,
    "redis": _parse_lines,
    "pgconf": _parse_pgconf,
}
