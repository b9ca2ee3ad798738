"""Find, read, interpolate and validate ``shield.yaml``; every mistake becomes one located line."""

from __future__ import annotations

import copy
import difflib
import os
import sys
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from prodshield.config.interpolate import interpolate, is_placeholder, referenced
from prodshield.config.partial import Partial, salvage
from prodshield.config.redacted import SECRET_KEYS, SECRET_MAPS
from prodshield.config.schema import ShieldConfig
from prodshield.config.yamlpos import Path, Pos, Positions, YamlSyntaxError, format_path, load_yaml
from prodshield.errors import ConfigError, NotFound

ENV_VAR = "PRODSHIELD_CONFIG"
DEFAULT_NAME = "shield.yaml"


@dataclass(frozen=True)
class Fallback:
    """A ``${VAR:-default}`` that took its default because VAR is unset (or empty)."""

    line: int
    column: int
    key: str
    """Where in the config, as ``notifiers.github.token``."""
    variable: str
    default: str

    @property
    def placeholder(self) -> bool:
        """The default is a template's stand-in (``unset``, ``changeme``...), not a value."""
        return is_placeholder(self.default)


@dataclass
class LoadedConfig:
    """A validated configuration and where it came from."""

    config: ShieldConfig
    path: FsPath
    positions: Positions
    fallbacks: list[Fallback] = field(default_factory=list)
    """Every ``${VAR:-default}`` whose default was used, in file order."""
    validators: tuple[Validator, ...] = ()
    """The load-time checks it passed, run again when the file is reloaded."""
    literals: frozenset[Path] = frozenset()
    """Where a text value is written in the file as it is, with no ``${VAR}`` (``config check``
    warns when that is a notifier's secret)."""
    variables: frozenset[str] = frozenset()
    """Every environment variable the file refers to as ``${VAR}``: the operator's, expected in
    the environment (the audit does not fail its gate on them)."""
    unresolved: tuple[str, ...] = ()
    """The ``file:line:column: ... is not set`` errors left aside because they are in a section
    the command said it does not use (``unused``): those values keep their ``${VAR}`` text."""
    left_out: tuple[str, ...] = ()
    """``file:line:column:`` lines for the items of those sections left out of this command's
    config: an unset ``${VAR}`` as their ``type`` or a required value (a ``tcp`` check's
    ``port``) leaves them nothing to stand for; the CLI warns of each."""

    @property
    def base_dir(self) -> FsPath:
        return self.path.parent

    def where(self, path: Path) -> str:
        pos = self.positions.locate(path)
        return f"{self.path.name}:{pos.line}:{pos.column}"


Validator = Callable[[ShieldConfig], list[tuple[Path, str]]]
"""A load-time check the schema cannot make (placeholders a check type does not provide, a log
layout that does not compile): ``(path, message)`` pairs the loader locates in the file. The
capabilities own theirs; the composition layers pass them to :func:`load_config` (the CLI's
``prodshield.cli.config_checks``), so the config layer imports no capability."""


SERVE_ONLY: tuple[str, ...] = ("serve.token", "serve.users")
"""The fields only `serve` reads (its login tokens): every other command leaves an unset
``${PRODSHIELD_TOKEN}`` there as written and does not judge a token's length; `serve` and
`config check` load them whole."""


def find_config(
    explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> FsPath:
    """``-c`` first, then ``$PRODSHIELD_CONFIG``, then ``./shield.yaml``."""
    env = os.environ if env is None else env
    if explicit:
        p = FsPath(explicit)
        if not p.is_file():
            raise NotFound(f"{p}: {_not_a_file(p)}")
        return p
    if env.get(ENV_VAR):
        p = FsPath(env[ENV_VAR])
        if not p.is_file():
            raise NotFound(f"{p}: {_not_a_file(p)} (from ${ENV_VAR})")
        return p
    p = FsPath(DEFAULT_NAME)
    if not p.is_file():
        raise NotFound(
            f"no config: pass -c FILE, set ${ENV_VAR}, or create ./{DEFAULT_NAME} with `prodshield init`"
        )
    return p


def _not_a_file(p: FsPath) -> str:
    """Why ``p`` is not a config file: missing, or a folder (naming its shield.yaml if any)."""
    if not p.is_dir():
        return "no such config file"
    inside = p / DEFAULT_NAME
    if inside.is_file():
        return f"a folder, not a config file (did you mean -c {inside}?)"
    return "a folder, not a config file"


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    validators: Sequence[Validator] = (),
    unused: Collection[str] = (),
) -> LoadedConfig:
    """Load and validate a config file (the schema, then ``validators``); raise
    :class:`ConfigError` listing every mistake. A ``${VAR}`` not set in a part of the file named
    in ``unused`` (a top-level section such as ``notifiers`` for a command that sends nothing, or
    a field such as ``serve.token`` for one that serves nothing) is no mistake: the value keeps
    its ``${VAR}`` text, and the error is kept in ``LoadedConfig.unresolved``. The schema is told
    ``unused`` too (its validation context), so a check only its reader needs (the serve token's
    length) is not made."""
    fs_path = find_config(path, env)
    try:
        text = fs_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{fs_path}: cannot read: {exc}"]) from None
    loaded = parse_config(
        text, name=str(fs_path), env=env, fs_path=fs_path, validators=validators, unused=unused
    )
    _redact_custom_secrets(loaded.config)
    return loaded


def _redact_custom_secrets(config: ShieldConfig) -> None:
    """The operator's secret formats (``audit.secrets.rules``) join the one redaction pass, so log
    lines, findings and notifications mask them as they mask the shipped formats."""
    if not config.audit.secrets.rules:
        # the shipped rules only; the secrets engine loads when something is first redacted, and
        # only a process that has it loaded (a reload in `serve`) can hold older rules to drop
        loaded = sys.modules.get("prodshield.secrets.redaction")
        if loaded is not None:
            loaded.use_rules(())
        return
    from prodshield.secrets.redaction import use_rules
    from prodshield.secrets.rules.custom import custom_rules

    use_rules(custom_rules(config.audit.secrets.rules))


def parse_config(
    text: str,
    *,
    name: str = DEFAULT_NAME,
    env: Mapping[str, str] | None = None,
    fs_path: FsPath | None = None,
    validators: Sequence[Validator] = (),
    unused: Collection[str] = (),
) -> LoadedConfig:
    """Validate config text (used by :func:`load_config` and by tests)."""
    env = os.environ if env is None else env
    problems: list[tuple[Pos, str]] = []
    interpolated: set[Path] = set()
    deferred: dict[Path, list[tuple[Pos, str]]] = {}
    """Values left as written (an unset ``${VAR}`` in an ``unused`` section), with their errors."""

    fallbacks: list[Fallback] = []
    literals: set[Path] = set()
    variables: set[str] = set()

    def hook(value: str, path: Path, pos: Pos) -> str:
        used: list[tuple[str, str]] = []
        variables.update(referenced(value))
        result, missing = interpolate(value, env, used)
        for var, default in used:
            fallbacks.append(Fallback(pos.line, pos.column, format_path(path), var, default))
        unset = [
            (
                pos,
                f"{format_path(path)}: environment variable {var} is not set "
                f"(used here as ${{{var}}}; set it or write ${{{var}:-default}})",
            )
            for var in missing
        ]
        if unset and _unread(path, unused):
            deferred[path] = unset
            return value  # unresolved: this command never reads it
        if unset:
            interpolated.add(path)
            problems.extend(unset)
        return result

    try:
        data, positions, structural = load_yaml(text, scalar_hook=_noting_literals(hook, literals))
    except YamlSyntaxError as exc:
        raise ConfigError([f"{name}:{exc.pos.line}:{exc.pos.column}: {exc.message}"]) from None
    for pos, p, msg in structural:
        problems.append((pos, f"{format_path(p)}: {msg}"))
    if not isinstance(data, dict):
        problems.append(
            (Pos(1, 1), "the file must be a mapping of sections (storage:, checks:, ...)")
        )
        data = {}

    config, found, left_out = _validated(
        data, positions, validators, interpolated, deferred, unused
    )
    problems.extend(found)

    if problems:
        raise ConfigError(_located(problems, name))
    assert config is not None
    return LoadedConfig(
        config=config,
        path=fs_path or FsPath(name),
        positions=positions,
        fallbacks=fallbacks,
        validators=tuple(validators),
        literals=frozenset(literals),
        variables=frozenset(variables),
        unresolved=tuple(_located([p for unset in deferred.values() for p in unset], name)),
        left_out=tuple(
            _located(
                [
                    (
                        pos,
                        f"{msg.split(' (used here', 1)[0]}, so this command leaves "
                        f"{format_path(item)} out",
                    )
                    for item in left_out
                    for w, unset in deferred.items()
                    if w[: len(item)] == item
                    for pos, msg in unset
                ],
                name,
            )
        ),
    )


def _same(path: Path) -> Path:
    return path


def _partial(
    data: dict[str, Any], validators: Sequence[Validator]
) -> tuple[ShieldConfig, Callable[[Path], Path]]:
    """The parts of an invalid ``data`` that validate, and how their paths map to the file's."""
    if not validators:
        return ShieldConfig(), _same
    partial = salvage(data, _strip_tags)
    return partial.config, partial.to_file


def _validated(
    data: dict[str, Any],
    positions: Positions,
    validators: Sequence[Validator],
    interpolated: set[Path],
    deferred: dict[Path, list[tuple[Pos, str]]],
    unused: Collection[str] = (),
) -> tuple[ShieldConfig | None, list[tuple[Pos, str]], list[Path]]:
    """The schema, the references between sections and ``validators`` over the interpolated
    data: the config (None when the schema refuses it), the located problems, and the items
    left out because an unset ``${VAR}`` the command never reads leaves them without a type or a
    required value (:func:`_unread_left_aside`)."""
    left_out: list[Path] = []
    problems: list[tuple[Pos, str]] = []
    config: ShieldConfig | None = None
    mapped: Callable[[Path], Path] = _same
    context = {"unused": frozenset(unused)}
    try:
        config = ShieldConfig.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        unread = _unread_left_aside(data, errors, deferred, unused, context)
        if unread is not None:
            config, mapped, left_out[:] = unread.config, unread.to_file, unread.left_out
            errors = []
        for err in errors:
            where = _error_path(err, data)
            if where in interpolated or _blame_unset(where, deferred, problems):
                continue
            problems.append(_describe(err, data, positions))
    for p, msg in _cross_checks(data):
        problems.append((positions.locate(p), f"{format_path(p)}: {msg}"))
    # the load-time checks judge what validated: the whole config, or the parts of it that
    # validate on their own, so a file's mistakes come out in one run, not in stages
    judged, to_file = (config, mapped) if config is not None else _partial(data, validators)
    for validator in validators:
        for p, msg in validator(judged):
            p = to_file(p)
            if not _blame_unset(p, deferred, problems):
                problems.append((positions.locate(p), f"{format_path(p)}: {msg}"))
    return config, problems, left_out


def _error_path(err: Any, data: Any) -> Path:
    """Where a schema error is: a check's unknown ``type`` at its ``type`` key."""
    where = _strip_tags(tuple(err["loc"]), data)
    return (*where, "type") if err["type"] == "union_tag_invalid" else where


@dataclass
class _Unread:
    config: ShieldConfig
    to_file: Callable[[Path], Path]
    left_out: list[Path]


def _unread_left_aside(
    data: dict[str, Any],
    errors: Sequence[Any],
    deferred: dict[Path, list[tuple[Pos, str]]],
    unused: Collection[str],
    context: dict[str, Any],
) -> _Unread | None:
    """The config a command that never reads a part of the file gets when the schema refuses
    only values there left as written (an unset ``${VAR}`` as a check's ``port``, ``interval``
    or ``type``): each such key is dropped, so its default stands in for a value the command
    never reads; an item that then lacks a required key or its ``type`` (a ``tcp`` check's
    ``port``) is left out of the command's config whole. None when another mistake remains
    (reported as before, with the unset variables)."""
    if not deferred:
        return None
    blamed: set[Path] = set()
    for err in errors:
        where = _error_path(err, data)
        around = [w for w in deferred if w[: len(where)] == where or where[: len(w)] == w]
        if not around:
            return None
        blamed.update(around)
    trimmed = copy.deepcopy(data)
    for w in blamed:
        parent = _at(trimmed, w[:-1])
        if isinstance(parent, dict):
            parent.pop(w[-1], None)
    try:
        return _Unread(ShieldConfig.model_validate(trimmed, context=context), _same, [])
    except ValidationError as exc:
        errors = exc.errors()
    items: set[Path] = set()
    for err in errors:
        where = _error_path(err, trimmed)
        item = next(
            (
                _item_of(w, unused)
                for w in blamed
                if where[: len(w)] == w or w[: len(where)] == where
            ),
            None,
        )
        if item is None:
            return None
        items.add(item)
    lists: dict[tuple[Any, ...], list[int]] = {}
    last_first = sorted(
        items, key=lambda i: (format_path(i[:-1]), i[-1] if isinstance(i[-1], int) else -1)
    )
    for item in reversed(last_first):
        parent = _at(trimmed, item[:-1])
        if isinstance(parent, list) and isinstance(item[-1], int):
            kept = lists.setdefault(item[:-1], list(range(len(parent))))
            del kept[item[-1]]
            del parent[item[-1]]
        elif isinstance(parent, dict):
            parent.pop(item[-1], None)
    try:
        config = ShieldConfig.model_validate(trimmed, context=context)
    except ValidationError:
        return None
    return _Unread(config, Partial(config, lists).to_file, sorted(items, key=str))


def _at(data: Any, path: Path) -> Any:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _item_of(path: Path, unused: Collection[str]) -> Path | None:
    """The item of an ``unused`` section ``path`` is in (``checks[2]``, ``notifiers.github``)."""
    for u in unused:
        parts = tuple(u.split("."))
        if path[: len(parts)] == parts and len(path) > len(parts):
            return path[: len(parts) + 1]
    return None


def _unread(path: Path, unused: Collection[str]) -> bool:
    """``path`` is in a part of the file named in ``unused`` (``notifiers``, ``serve.token``)."""
    return any(
        tuple(path[: len(parts)]) == parts for parts in (tuple(u.split(".")) for u in unused)
    )


def _blame_unset(
    path: Path, deferred: dict[Path, list[tuple[Pos, str]]], problems: list[tuple[Pos, str]]
) -> bool:
    """A problem at ``path`` about a value left unresolved (``deferred``) is its unset variable:
    as written it is not valid, so the variable is needed after all. Adds the unset-variable errors
    of the values at, inside or around ``path`` to ``problems``; True when ``path`` is such a value
    (or inside one) and its own message adds nothing."""
    around = [w for w in deferred if w[: len(path)] == path or path[: len(w)] == w]
    for w in around:
        problems.extend(deferred[w])
    return any(path[: len(w)] == w for w in around)


def _noting_literals(
    hook: Callable[[str, Path, Pos], str], literals: set[Path]
) -> Callable[[str, Path, Pos], str]:
    """``hook``, adding the path of each text written with no ``${VAR}`` to ``literals``."""

    def noting(value: str, path: Path, pos: Pos) -> str:
        if "${" not in value:
            literals.add(path)
        return hook(value, path, pos)

    return noting


def _located(problems: list[tuple[Pos, str]], name: str) -> list[str]:
    """``name:line:col: message`` lines in file order, each once."""
    seen: set[str] = set()
    lines = []
    for pos, msg in sorted(problems, key=lambda x: (x[0].line, x[0].column)):
        line = f"{name}:{pos.line}:{pos.column}: {msg}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


def _cross_checks(data: dict[str, Any]) -> list[tuple[Path, str]]:
    """References between sections, checked on the raw data so they are reported together with
    schema errors."""
    envs = set(_as_dict(data.get("environments")))
    notifiers = set(_as_dict(data.get("notifiers")))
    checks = _as_list(data.get("checks"))
    out, names = _check_reference_problems(checks, envs, notifiers)
    out.extend(_secret_rule_problems(data))
    out.extend(_escalation_problems(data, notifiers))
    out.extend(_dependency_problems(checks, names))
    out.extend(_experiment_problems(_as_dict(data.get("chaos")).get("experiments"), names, envs))
    out.extend(_service_problems(data, notifiers))
    out.extend(_maintenance_problems(_as_list(data.get("maintenance")), envs, names))
    for i, source in enumerate(_as_list(_as_dict(data.get("logs")).get("sources"))):
        where = ("logs", "sources", i, "environment")
        out += _unknown(where, _as_dict(source).get("environment"), envs, "environment")
    return out


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _as_dict(v: Any) -> dict[Any, Any]:
    return v if isinstance(v, dict) else {}


def _check_reference_problems(
    checks: list[Any], envs: set[str], notifiers: set[str]
) -> tuple[list[tuple[Path, str]], dict[str, int]]:
    """Duplicate check names, unknown environments and notifiers; and each name's index."""
    out: list[tuple[Path, str]] = []
    names: dict[str, int] = {}
    for i, check in enumerate(checks):
        if not isinstance(check, dict):
            continue
        name = check.get("name")
        if isinstance(name, str):
            if name in names:
                out.append(
                    (
                        ("checks", i, "name"),
                        f"duplicate check name {name!r} (also checks[{names[name]}])",
                    )
                )
            names.setdefault(name, i)
        out += _unknown_each(
            ("checks", i, "environments"), check.get("environments"), envs, "environment"
        )
        out += _unknown_each(("checks", i, "alerts"), check.get("alerts"), notifiers, "notifier")
    return out, names


def _secret_rule_problems(data: dict[str, Any]) -> list[tuple[Path, str]]:
    """Your own secret rules (``audit.secrets.rules``) have distinct ids."""
    out: list[tuple[Path, str]] = []
    rule_ids: dict[str, int] = {}
    secret_rules = _as_list(_as_dict(_as_dict(data.get("audit")).get("secrets")).get("rules"))
    for i, rule in enumerate(secret_rules):
        rule_id = _as_dict(rule).get("id")
        if isinstance(rule_id, str):
            if rule_id in rule_ids:
                out.append(
                    (
                        ("audit", "secrets", "rules", i, "id"),
                        f"duplicate secret rule id {rule_id!r} "
                        f"(also audit.secrets.rules[{rule_ids[rule_id]}])",
                    )
                )
            rule_ids.setdefault(rule_id, i)
    return out


def _escalation_problems(data: dict[str, Any], notifiers: set[str]) -> list[tuple[Path, str]]:
    """Escalation levels notify known notifiers; defaults and checks name known policies."""
    out: list[tuple[Path, str]] = []
    policies = set(_as_dict(data.get("escalations")))
    for pname, levels in _as_dict(data.get("escalations")).items():
        for j, level in enumerate(_as_list(levels)):
            at = ("escalations", pname, j, "notify")
            out += _unknown_each(at, _as_dict(level).get("notify"), notifiers, "notifier")
    named: list[tuple[Path, Any]] = [
        (("defaults", "escalation"), _as_dict(data.get("defaults")).get("escalation"))
    ]
    named += [
        (("checks", i, "escalation"), _as_dict(c).get("escalation"))
        for i, c in enumerate(_as_list(data.get("checks")))
    ]
    for where, policy in named:
        out += _unknown(where, policy, policies, "escalation policy")
    return out


def _service_problems(data: dict[str, Any], notifiers: set[str]) -> list[tuple[Path, str]]:
    """``services`` name services the checks have; subscriptions mail through an email
    notifier."""
    out: list[tuple[Path, str]] = []
    owned = {
        str(_as_dict(c).get("service") or _as_dict(c).get("name"))
        for c in _as_list(data.get("checks"))
    }
    for sname in _as_dict(data.get("services")):
        out += _unknown(("services", sname), sname, owned, "service")
    mail = _as_dict(_as_dict(_as_dict(data.get("serve")).get("subscriptions"))).get("email")
    if isinstance(mail, str):
        kind = _as_dict(_as_dict(data.get("notifiers")).get(mail)).get("type")
        if mail not in notifiers or kind != "email":
            out.append(
                (
                    ("serve", "subscriptions", "email"),
                    f"{mail!r} is not a notifier of type email{_suggest(mail, notifiers)}",
                )
            )
    return out


def _maintenance_problems(
    windows: list[Any], envs: set[str], names: dict[str, int]
) -> list[tuple[Path, str]]:
    """Maintenance windows name known environments and checks."""
    out: list[tuple[Path, str]] = []
    for i, window in enumerate(windows):
        window = _as_dict(window)
        where = ("maintenance", i)
        out += _unknown_each(
            (*where, "environments"), window.get("environments"), envs, "environment"
        )
        out += _unknown_each((*where, "checks"), window.get("checks"), names, "check")
    return out


def _experiment_problems(
    experiments: Any, checks: dict[str, int], envs: set[str]
) -> list[tuple[Path, str]]:
    """chaos.experiments' env and abort_on_checks name what shield.yaml has: a typo in a
    guardrail would leave a scheduled game day unguarded."""
    out: list[tuple[Path, str]] = []
    for i, spec in enumerate(experiments if isinstance(experiments, list) else []):
        if not isinstance(spec, dict):
            continue
        out += _unknown(("chaos", "experiments", i, "env"), spec.get("env"), envs, "environment")
        guards = spec.get("abort_on_checks")
        for j, text in enumerate(guards if isinstance(guards, list) else []):
            if not isinstance(text, str):
                continue
            name, _, where = text.partition("@")
            if name not in checks:
                problem = f"unknown check {name!r}{_suggest(name, checks)}"
            elif where and where not in envs:
                problem = f"unknown environment {where!r}{_suggest(where, envs)}"
            else:
                continue
            out.append((("chaos", "experiments", i, "abort_on_checks", j), problem))
    return out


def _unknown(where: Path, name: Any, known: Collection[str], what: str) -> list[tuple[Path, str]]:
    """``name``, a string ``known`` lacks, as the error at ``where`` (with a close match)."""
    if isinstance(name, str) and name not in known:
        return [(where, f"unknown {what} {name!r}{_suggest(name, known)}")]
    return []


def _unknown_each(
    where: Path, names: Any, known: Collection[str], what: str
) -> list[tuple[Path, str]]:
    """Each name of the list ``names`` that ``known`` lacks, as the error at its index."""
    return [e for j, n in enumerate(_as_list(names)) for e in _unknown((*where, j), n, known, what)]


def _suggest(word: str, choices: typing.Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _strip_tags(loc: tuple[Any, ...], data: Any) -> Path:
    """Drop the union tags pydantic puts in error locations (``checks.2.http.url``)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict):
            if part in cur:
                out.append(part)
                cur = cur[part]
                continue
            if isinstance(part, str) and (
                cur.get("type") == part or "[" in part or part.startswith("function-")
            ):
                continue
            out.append(part)
            cur = None
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        else:
            if isinstance(part, str) and ("[" in part or part.startswith("function-")):
                continue
            out.append(part)
            cur = None
    return tuple(out)


def _model_at(path: Path, data: Any) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path`` (for did-you-mean)."""
    annotation: Any = ShieldConfig
    cur = data
    for part in path:
        annotation = _resolve(annotation, cur)
        if annotation is None:
            return None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                for f in annotation.model_fields.values():
                    if f.alias == part:
                        field = f
            if field is None:
                return None
            annotation = field.annotation
        else:
            origin = typing.get_origin(annotation)
            args = typing.get_args(annotation)
            if origin in (list, tuple) and args:
                annotation = args[0]
            elif origin is dict and len(args) == 2:
                annotation = args[1]
            else:
                return None
        cur = (
            cur.get(part)
            if isinstance(cur, dict)
            else cur[part]
            if isinstance(cur, list) and isinstance(part, int) and part < len(cur)
            else None
        )
    annotation = _resolve(annotation, cur)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def bare(annotation: Any) -> Any:
    """The annotation without its Annotated and Optional wrappers (a union of several types
    stays a union). The config reference reads the models through it too."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _resolve(annotation: Any, value: Any) -> Any:
    """Unwrap Annotated/Optional and pick a union member by the value's ``type:``."""
    annotation = bare(annotation)
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    if models and isinstance(value, dict):
        tag = value.get("type")
        for m in models:
            f = m.model_fields.get("type")
            if f is not None and tag in typing.get_args(f.annotation):
                return m
    return None


_FRIENDLY = {
    "missing": "required key is missing",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def _describe(err: Any, data: Any, positions: Positions) -> tuple[Pos, str]:
    kind = err["type"]
    path = _strip_tags(tuple(err["loc"]), data)
    value = err.get("input")
    if kind == "extra_forbidden":
        key = path[-1] if path else "?"
        model = _model_at(path[:-1], data)
        names = [f.alias or n for n, f in model.model_fields.items()] if model else []
        return positions.locate(
            path
        ), f"{format_path(path)}: unknown key {key!r}{_suggest(str(key), names)}"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag = ctx.get("tag")
        expected = ctx.get("expected_tags", "")
        options = [t.strip().strip("'") for t in str(expected).split(",")]
        pos = positions.locate((*path, "type"), prefer_key=False)
        return (
            pos,
            f"{format_path((*path, 'type'))}: unknown type {tag!r}{_suggest(str(tag), options)} (one of {', '.join(options)})",
        )
    if kind == "union_tag_not_found":
        return (
            positions.locate(path),
            f"{format_path(path)}: 'type:' is required (one of {err.get('ctx', {}).get('discriminator', 'type')})",
        )
    if kind == "missing":
        parent = positions.locate(path[:-1]) if path else Pos(1, 1)
        return parent, f"{format_path(path)}: {_FRIENDLY['missing']}"
    msg = err.get("msg", "invalid value")
    shown = _show(value, secret=_is_secret(path))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    elif kind in _FRIENDLY:
        msg = f"{_FRIENDLY[kind]}, got {shown}"
    elif kind == "literal_error":
        msg = f"{shown} is not allowed ({err.get('ctx', {}).get('expected', '')})"
    else:
        msg = f"{msg[0].lower()}{msg[1:]}" if msg else "invalid value"
    return positions.locate(path), f"{format_path(path)}: {msg}"


def _is_secret(path: Path) -> bool:
    """Whether ``path`` names a secret (a token, a password, a header or user's value)."""
    keys = [str(part) for part in path]
    return any(k in SECRET_KEYS for k in keys) or any(k in SECRET_MAPS for k in keys[:-1])


def _show(value: Any, *, secret: bool = False) -> str:
    """A wrong value as an error quotes it; a secret's (``token: 1234...``, unquoted, is a
    number) only by its kind, never whole."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if secret:
        kind = "a number" if isinstance(value, int | float) else "a value"
        return f"{kind} (not shown: a secret)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dependency_problems(checks: list[Any], names: dict[str, int]) -> list[tuple[Path, str]]:
    """``depends_on`` naming an unknown check, the check itself, or closing a cycle."""
    out: list[tuple[Path, str]] = []
    parents: dict[str, list[str]] = {}
    for i, check in enumerate(checks):
        if not isinstance(check, dict) or not isinstance(check.get("name"), str):
            continue
        deps = check.get("depends_on")
        if not isinstance(deps, list):
            continue
        name = check["name"]
        for j, parent in enumerate(deps):
            if not isinstance(parent, str):
                continue
            if parent == name:
                out.append((("checks", i, "depends_on", j), f"check {name!r} depends on itself"))
            elif parent not in names:
                out.append(
                    (
                        ("checks", i, "depends_on", j),
                        f"unknown check {parent!r}{_suggest(parent, set(names))}",
                    )
                )
            else:
                parents.setdefault(name, []).append(parent)
    reported: set[str] = set()
    for name, deps in parents.items():
        if name in reported:
            continue
        for parent in deps:
            back = _path_between(parents, parent, name)
            if back is None:
                continue
            cycle = [name, *back]
            reported.update(cycle)
            i = names[name]
            j = checks[i]["depends_on"].index(parent)
            out.append((("checks", i, "depends_on", j), "dependency cycle: " + " -> ".join(cycle)))
            break
    return out


def _path_between(graph: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """The nodes from ``start`` to ``goal`` following ``graph``'s edges (breadth first), or None."""
    before: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        if node == goal:
            path = [node]
            while (prev := before[path[-1]]) is not None:
                path.append(prev)
            return path[::-1]
        for nxt in graph.get(node, []):
            if nxt not in before:
                before[nxt] = node
                queue.append(nxt)
    return None
