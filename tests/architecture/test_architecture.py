"""The layering rules of docs/architecture.md, read from the source with `ast`.

Dependencies point down: `cli` and `web` compose the capabilities, nothing below them imports
them; no capability (monitor, logs, audit, chaos) imports another; and no two modules import each
other, directly or around a loop, at module level (imports under `if TYPE_CHECKING:` and inside
functions are not part of the module-level graph; they do count for the first two rules).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "prodshield"
CAPABILITIES = {"monitor", "logs", "audit", "chaos"}
COMPOSERS = {"web", "cli"}
# The shared lower layer: what several capabilities use. It imports no capability.
LOWER = {
    "config",
    "store",
    "notify",
    "secrets",
    "conditions",
    "text",
    "errors",
    "deploys",
    "runtime",
    "templates",
    "severity",
    "certnames",
    "tables",
    "views",
    "exposition",
}
# The entry points and the demo put the whole product together; they sit above web/ and cli/.
TOP = {"__main__", "demo"}

# Violations known and not yet fixed: each entry must disappear as the code is fixed (the test
# fails when a listed violation is gone, so the list stays true). Keep it shrinking.
ALLOWED_UPWARD: set[tuple[str, str]] = set()
ALLOWED_CROSS_CAPABILITY: set[tuple[str, str]] = set()
ALLOWED_DOWNWARD: set[tuple[str, str]] = set()
ALLOWED_CYCLES: set[frozenset[str]] = set()
# Cycles hidden by imports deferred into functions (they run, only later): not allowed either.
ALLOWED_DEFERRED_CYCLES: set[frozenset[str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(
    module: str, path: Path, node: ast.Import | ast.ImportFrom, known: set[str]
) -> set[str]:
    """The prodshield modules one import statement loads (a `from pkg import mod` loads pkg.mod)."""
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        base = _resolve(module, path, node)
        submodules = {f"{base}.{alias.name}" for alias in node.names}
        names = submodules & known
        # `from pkg import mod` imports pkg.mod; a name that is no module comes from pkg itself.
        if not submodules <= known:
            names.add(base)
    return {name for name in names if name == "prodshield" or name.startswith("prodshield.")}


class _Imports:
    """The prodshield modules one module imports: anywhere (type-only included), at module level
    at run time, and at run time anywhere (module level and inside functions, not type-only)."""

    def __init__(self) -> None:
        self.everywhere: set[str] = set()
        self.module_level: set[str] = set()
        self.run_time: set[str] = set()


def _imports(module: str, path: Path, known: set[str]) -> _Imports:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    result = _Imports()

    def walk(nodes: list[ast.stmt], at_top: bool, typing_only: bool) -> None:
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found = _targets(module, path, node, known)
                result.everywhere.update(found)
                if not typing_only:
                    result.run_time.update(found)
                    if at_top:
                        result.module_level.update(found)
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                walk(node.body, False, True)
                walk(node.orelse, at_top, typing_only)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                walk(node.body, False, typing_only)
            elif isinstance(node, ast.Match):
                for case in node.cases:
                    walk(case.body, at_top, typing_only)
            else:
                for field in ("body", "orelse", "finalbody"):
                    children = getattr(node, field, None)
                    if isinstance(children, list):
                        walk([c for c in children if isinstance(c, ast.stmt)], at_top, typing_only)
                for handler in getattr(node, "handlers", None) or ():
                    walk(handler.body, at_top, typing_only)

    walk(tree.body, True, False)
    return result


def _graphs() -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
    """(imports anywhere, module-level run-time graph, run-time graph with deferred imports)."""
    modules = _modules()
    known = set(modules)
    everywhere: dict[str, set[str]] = {}
    top: dict[str, set[str]] = {}
    run_time: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = _imports(name, path, known)
        everywhere[name] = {_known_prefix(m, known) for m in found.everywhere} - {""}
        top[name] = {_known_prefix(m, known) for m in found.module_level} - {name, ""}
        run_time[name] = {_known_prefix(m, known) for m in found.run_time} - {name, ""}
    return everywhere, top, run_time


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    everywhere, top, _ = _graphs()
    return everywhere, top


def _known_prefix(name: str, known: set[str]) -> str:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_nothing_below_web_and_cli_imports_them() -> None:
    everywhere, _ = _graph()
    found = {
        (module, target)
        for module, targets in everywhere.items()
        for target in targets
        if _area(target) in COMPOSERS
        and _area(module) not in COMPOSERS | TOP
        and module != "prodshield"
    }
    # web and cli may use each other only through the allowlist too: web must not import cli.
    found |= {
        (module, target)
        for module, targets in everywhere.items()
        for target in targets
        if _area(module) == "web" and _area(target) == "cli"
    }
    assert found - ALLOWED_UPWARD == set(), "imports of web/ or cli/ from below them"
    assert ALLOWED_UPWARD - found == set(), "fixed: remove these from ALLOWED_UPWARD"


def test_no_capability_imports_another() -> None:
    everywhere, _ = _graph()
    found = {
        (module, target)
        for module, targets in everywhere.items()
        for target in targets
        if _area(module) in CAPABILITIES
        and _area(target) in CAPABILITIES
        and _area(module) != _area(target)
    }
    assert found - ALLOWED_CROSS_CAPABILITY == set(), "a capability imports another"
    assert ALLOWED_CROSS_CAPABILITY - found == set(), (
        "fixed: remove these from ALLOWED_CROSS_CAPABILITY"
    )


def test_the_lower_layer_imports_no_capability() -> None:
    everywhere, _ = _graph()
    found = {
        (module, target)
        for module, targets in everywhere.items()
        for target in targets
        if _area(module) in LOWER and _area(target) in CAPABILITIES | COMPOSERS | TOP
    }
    assert found - ALLOWED_DOWNWARD == set(), "the lower layer imports a capability"
    assert ALLOWED_DOWNWARD - found == set(), "fixed: remove these from ALLOWED_DOWNWARD"


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def test_cycle_finder_finds_a_loop() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == {frozenset({"a", "b", "c"})}


def test_no_import_cycles_at_module_level() -> None:
    _, top = _graph()
    found = _cycles(top)
    assert found - ALLOWED_CYCLES == set(), "module-level import cycles"
    assert ALLOWED_CYCLES - found == set(), "fixed: remove these from ALLOWED_CYCLES"


def test_no_import_cycles_through_deferred_imports() -> None:
    _, _, run_time = _graphs()
    found = _cycles(run_time)
    assert found - ALLOWED_DEFERRED_CYCLES == set(), "import cycles through function-local imports"
    assert ALLOWED_DEFERRED_CYCLES - found == set(), (
        "fixed: remove these from ALLOWED_DEFERRED_CYCLES"
    )


def test_no_import_cycles_even_through_type_only_imports() -> None:
    """Type-only imports cannot fail at run time, but a loop through them still means two modules
    that each need the other (chaos/proxy link and server did; the link now names a Protocol)."""
    everywhere, _ = _graph()
    found = _cycles({module: targets - {module} for module, targets in everywhere.items()})
    assert found == set(), "import cycles through `if TYPE_CHECKING:` imports"


# --- families: one registry pattern -------------------------------------------------------------
# A family is a folder with a `base.py` declaring its Protocol; `__init__.py` holds `REGISTRY`, an
# explicit dict from the member's key to the member (or, where start-up time matters, to the
# module that defines it as `PROVIDER`); the key is the member's `type` attribute; every member
# carries an `example` (a config block or API body that validates) and every module of the
# folder is a member's (a member that is data, an instance of a class of `base.py`, belongs to
# the module holding it: secret rules are `RegexRule`s in each provider module's `RULES`).
FAMILIES: dict[str, str] = {
    "prodshield.notify.providers": "Notifier",
    "prodshield.monitor.checks": "Check",
    "prodshield.chaos.experiments.providers": "Provider",
    "prodshield.chaos.proxy.toxics": "Toxic",
    "prodshield.secrets.verifiers": "Verifier",
    "prodshield.logs.detectors": "Detector",
    "prodshield.logs.formats": "LogFormat",
    "prodshield.audit.rules": "Rule",
    "prodshield.secrets.rules": "SecretRule",
}
# Modules in a family folder that are not members, with why (they stay few).
FAMILY_HELPERS: dict[str, str] = {
    "prodshield.logs.detectors.trends": "baseline trends computed from the collector's counts at "
    "the end of a window (new templates, spikes, latency regressions), not a per-event detector",
    "prodshield.logs.detectors.redaction": "the detectors' name for the one redaction pass "
    "(secrets.redaction), imported by every detector and the fast paths",
    "prodshield.logs.detectors.sessions": "pairs an sshd session's lines of one failed login "
    "for the rule pack (each attempt counted once), not a detector of its own",
    "prodshield.logs.formats.registry": "detection (the format recognising most of the first "
    "lines) and lookup by name over REGISTRY",
    "prodshield.logs.formats.layout": "compiles a source's declared layout (nginx log_format, "
    "Apache LogFormat) into a format of its own: made per source, not registered",
    "prodshield.logs.formats.access": "the access-log parsing nginx and Apache share",
    "prodshield.secrets.rules.custom": "the operator's `audit.secrets.rules` turned into "
    "`RegexRule`s when shield.yaml loads: made per config, not registered",
}
# Folders with a base.py not on the pattern yet, with why. The test fails when one conforms (move
# it to FAMILIES), so the list only shrinks.
FAMILIES_NOT_YET: dict[str, str] = {}
NOT_A_FAMILY = {
    "prodshield.config",  # config/base.py is the models' StrictModel
    # config rules are members of prodshield.audit.rules (keyed there); config/base.py is their
    # shared base class and each module holds the rules of one file format
    "prodshield.audit.rules.config",
}


def _family_folders() -> set[str]:
    return {
        _module_name(path.parent / "__init__.py")
        for path in PACKAGE.rglob("base.py")
        if (path.parent / "__init__.py").exists()
    } - NOT_A_FAMILY


def _holder(package: str, member: object) -> str:
    """The module of the family whose globals hold `member` (itself or in a tuple)."""
    import importlib

    folder = PACKAGE.parent.joinpath(*package.split("."))
    for path in sorted(folder.glob("*.py")):
        if path.stem in ("__init__", "base"):
            continue
        module = importlib.import_module(f"{package}.{path.stem}")
        for value in vars(module).values():
            if value is member or (isinstance(value, tuple) and any(v is member for v in value)):
                return module.__name__
    return f"{package}.base"


def _members(package: str) -> dict[str, tuple[object, str]]:
    """key -> (member, the module that defines it)."""
    import importlib

    registry = importlib.import_module(package).REGISTRY
    out: dict[str, tuple[object, str]] = {}
    for key, value in registry.items():
        if isinstance(value, str):  # a lazy registry: the module's PROVIDER
            out[key] = (importlib.import_module(value).PROVIDER, value)
        else:
            cls = value if isinstance(value, type) else type(value)
            module = cls.__module__
            if module == f"{package}.base":  # data: an instance of the family's shared class
                module = _holder(package, value)
            out[key] = (value, module)
    return out


def test_every_family_folder_is_listed() -> None:
    found = _family_folders()
    assert found - set(FAMILIES) - set(FAMILIES_NOT_YET) == set(), "a new family: add it above"
    assert set(FAMILIES) | set(FAMILIES_NOT_YET) <= found, "a listed family is gone"


def test_families_share_one_registry_pattern() -> None:
    import importlib

    for package, protocol_name in FAMILIES.items():
        base = importlib.import_module(f"{package}.base")
        protocol = getattr(base, protocol_name)
        assert "type" in protocol.__annotations__, f"{package}: the Protocol declares no `type`"
        declared = "example" in protocol.__annotations__ or isinstance(
            getattr(protocol, "example", None), property
        )
        assert declared, f"{package}: the Protocol has no `example`"
        members = _members(package)
        assert members, f"{package}: an empty REGISTRY"
        for key, (member, _module) in members.items():
            assert getattr(member, "type", None) == key, f"{package}: {key!r} keyed by `type`"
            example = getattr(member, "example", None)
            assert isinstance(example, dict) and example, f"{package}: {key} has no example"
            if getattr(protocol, "_is_runtime_protocol", False):
                assert isinstance(member, protocol), f"{package}: {key} is no {protocol_name}"
            else:
                missing = {a for a in protocol.__annotations__ if not hasattr(member, a)}
                assert not missing, f"{package}: {key} lacks {sorted(missing)}"
        folder = PACKAGE.parent.joinpath(*package.split("."))
        modules = {
            f"{package}.{p.stem}"
            for p in folder.glob("*.py")
            if p.stem not in ("__init__", "base") and not p.stem.startswith("_")
        }
        registered = {module for _member, module in members.values()}
        unregistered = modules - registered - set(FAMILY_HELPERS)
        assert unregistered == set(), f"{package}: modules with no registered member"


def test_where_a_new_member_goes_names_every_family() -> None:
    """docs/architecture.md's table stays true: each family's folder is in it with `type`."""
    text = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## Where a new family member goes", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("|")]
    for package in FAMILIES:
        folder = package.removeprefix("prodshield.").replace(".", "/")
        row = next((r for r in rows if f"`{folder}/" in r), None)
        assert row is not None, f"docs/architecture.md: no row for {folder}/"
        assert row.rstrip(" |").endswith("`type`"), f"docs/architecture.md: {folder}/ key"


def test_families_not_yet_on_the_pattern_are_not() -> None:
    """A family listed as not yet conforming must not conform (then move it to FAMILIES)."""
    for package in FAMILIES_NOT_YET:
        try:
            members = _members(package)
        except (AttributeError, ImportError):
            continue  # no REGISTRY in __init__
        conforms = members and all(
            getattr(m, "type", None) == k and isinstance(getattr(m, "example", None), dict)
            for k, (m, _) in members.items()
        )
        assert not conforms, f"{package} follows the pattern now: move it to FAMILIES"


# --- complexity -----------------------------------------------------------------------------------
MAX_COMPLEXITY = 15
# Functions above MAX_COMPLEXITY (McCabe, as ruff's C901 counts) when the rule came in, with their
# count then. New code stays under it (split the function); the list only shrinks: the test fails
# when a listed function is simple enough now, or gone.
ALLOWED_COMPLEX: set[tuple[str, str]] = {
    ("chaos/proxy/toxics/http.py", "pipe"),  # 16
}


def test_no_new_function_above_the_complexity_limit() -> None:
    import json
    import subprocess
    import sys

    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run(
        [
            str(ruff),
            "check",
            str(PACKAGE),
            "--select",
            "C901",
            "--config",
            f"lint.mccabe.max-complexity = {MAX_COMPLEXITY}",
            "--output-format",
            "json",
            "--exit-zero",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = set()
    for item in json.loads(done.stdout):
        name = item["message"].split("`")[1]
        found.add((Path(item["filename"]).resolve().relative_to(PACKAGE).as_posix(), name))
    assert found - ALLOWED_COMPLEX == set(), (
        f"functions above complexity {MAX_COMPLEXITY}: split them"
    )
    assert ALLOWED_COMPLEX - found == set(), "simpler now (or gone): remove from ALLOWED_COMPLEX"
