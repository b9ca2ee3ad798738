"""The CLI on one pattern: every command module of ``prodshield.cli`` exposes one ``typer.Typer``
named ``app``, mounts nothing itself (no ``register(app)``, no ``attach`` closures), and
``cli/main.py`` mounts them all; argparse only on the documented start-up fast paths."""

from __future__ import annotations

import ast
import functools
import importlib
import subprocess
import sys
from pathlib import Path

import typer

CLI = Path(__file__).resolve().parents[2] / "src" / "prodshield" / "cli"

# modules without commands: the package, the mount point and error boundary, the console script,
# shared options and rendering, help labels, the load-time config checks
NOT_COMMANDS = {"__init__", "main", "entry", "common", "help", "config_checks"}

# The documented exceptions: argparse parsers run by cli/entry.py before typer is imported, for
# start-up time (importing typer costs ~60 ms of CPU; `chaos run` must start in half the time of
# Chaos Toolkit's, `logs parse` runs once per file in scripts). Each is also reachable inside the
# typer tree: `chaos run` through cli/chaos_experiments.py, `logs parse` through cli/logs.py.
FAST_PATHS = {"chaos_run", "logs_parse"}


@functools.cache
def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(CLI.glob("*.py"))}


def _command_modules() -> list[str]:
    return [name for name in _modules() if name not in NOT_COMMANDS | FAST_PATHS]


def _is_typer_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "Typer"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "typer"
    )


def test_the_lists_name_real_modules() -> None:
    assert set(_modules()) >= (NOT_COMMANDS | FAST_PATHS)


def test_each_command_module_exposes_one_typer_named_app() -> None:
    wrong = []
    for name in _command_modules():
        tree = _modules()[name]
        typers = [n for n in ast.walk(tree) if _is_typer_call(n)]
        top = [
            s
            for s in tree.body
            if isinstance(s, ast.Assign)
            and _is_typer_call(s.value)
            and [t.id for t in s.targets if isinstance(t, ast.Name)] == ["app"]
        ]
        if len(typers) != 1 or len(top) != 1:
            wrong.append(f"{name}: {len(typers)} typer.Typer(...), {len(top)} `app = typer.Typer(`")
        module = importlib.import_module(f"prodshield.cli.{name}")
        if not isinstance(getattr(module, "app", None), typer.Typer):
            wrong.append(f"{name}: no typer.Typer `app`")
    assert not wrong, wrong


def test_commands_are_module_level_functions_on_the_modules_own_app() -> None:
    """No `register(app)` / `attach(group)` functions and no commands defined inside functions:
    a command is `@app.command(...)` (or `@app.callback()`) on a module-level function."""
    wrong = []
    for name in _command_modules():
        tree = _modules()[name]
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name in ("register", "attach"):
                wrong.append(f"{name}: def {stmt.name}")
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if not (
                    isinstance(target, ast.Attribute) and target.attr in ("command", "callback")
                ):
                    continue
                owner = target.value
                if not (isinstance(owner, ast.Name) and owner.id == "app"):
                    wrong.append(
                        f"{name}:{node.lineno}: {node.name} decorated on {ast.unparse(owner)}"
                    )
                if id(node) not in top_level:
                    wrong.append(
                        f"{name}:{node.lineno}: {node.name} is a command inside a function"
                    )
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("add_typer", "command", "callback")
                and not any(node is d for f in ast.walk(tree) for d in _decorators(f))
            ):
                wrong.append(
                    f"{name}:{node.lineno}: {ast.unparse(node.func)}(...) outside a decorator"
                )
    assert not wrong, wrong


def _decorators(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return node.decorator_list
    return []


def test_only_main_mounts() -> None:
    wrong = [
        f"{name}:{node.lineno}"
        for name, tree in _modules().items()
        if name != "main"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "add_typer"
    ]
    assert not wrong, wrong


def test_every_command_module_is_mounted_once() -> None:
    from prodshield.cli import main

    mounted: list[typer.Typer] = []

    def walk(t: typer.Typer) -> None:
        for info in t.registered_groups:
            assert info.typer_instance is not None
            mounted.append(info.typer_instance)
            walk(info.typer_instance)

    for name in [*main.COMMANDS, *main.GROUPS]:
        walk(main.mounted(name))
    for name in _command_modules():
        module_app = importlib.import_module(f"prodshield.cli.{name}").app
        assert sum(m is module_app for m in mounted) == 1, (
            f"cli/{name}.py's app is not mounted once"
        )
    assert len(mounted) == len(_command_modules())


def test_the_root_tables_name_each_modules_commands() -> None:
    """cli/main.py lists the root's commands by name without importing them: each top-level
    name is the one command of its module, each group name a module with commands."""
    from prodshield.cli import main

    for name, module in main.COMMANDS.items():
        app = importlib.import_module(f"prodshield.cli.{module}").app
        assert [c.name for c in app.registered_commands] == [name], (name, module)
        assert not app.registered_groups and app.registered_callback is None, module
    for module in main.GROUPS.values():
        app = importlib.import_module(f"prodshield.cli.{module}").app
        assert app.registered_commands or app.registered_groups, module
    assert set(main.PARTS) <= set(main.GROUPS)


def test_starting_the_cli_imports_no_command_internals() -> None:
    """Start-up time: `import prodshield.cli.main` (what every command pays) imports no command
    module and none of what they use (the web app, the store, sqlalchemy, the config schema);
    a command imports its own module when it runs."""
    code = "import sys, prodshield.cli.main\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = (
        "prodshield.web",
        "prodshield.store",
        "prodshield.config",
        "prodshield.monitor",
        "prodshield.audit",
        "prodshield.logs",
        "prodshield.secrets",
        "prodshield.notify",
        "prodshield.chaos",
        "sqlalchemy",
        "pydantic",
        "aiohttp",
    )
    loaded = [m for m in out if m.startswith(heavy)]
    commands = {f"prodshield.cli.{m}" for m in _command_modules()}
    assert not loaded, loaded
    assert not commands & set(out), sorted(commands & set(out))


def test_argparse_only_on_the_fast_paths() -> None:
    wrong = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if "argparse" in names and name not in FAST_PATHS:
                wrong.append(f"{name}:{node.lineno}")
    assert not wrong, wrong


def test_the_fast_paths_import_no_typer() -> None:
    """What they are an exception for: typer, click and rich stay out of their imports."""
    for name in FAST_PATHS:
        imported = set()
        for node in ast.walk(_modules()[name]):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        assert not imported & {"typer", "click", "rich"}, (name, imported)


def test_monitor_status_imports_no_incident_machinery(tmp_path: Path) -> None:
    """`monitor status` reads states, uptimes and job runs: it imports neither the read model of
    the web pages (``monitor.read``) nor the incident engine, evidence or PostgreSQL dialect that
    comes with it (0.08 CPU-s of every run)."""
    (tmp_path / "shield.yaml").write_text(
        'version: 1\nstorage: "sqlite:///prodshield.db"\n'
        "checks:\n  - {name: nightly, type: heartbeat, period: 1d}\n"
    )
    code = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('\\n'.join(sorted(sys.modules)), file=sys.stderr))\n"
        "sys.argv = ['prodshield', 'monitor', 'status', '-c', 'shield.yaml']\n"
        "runpy.run_module('prodshield', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "nightly" in done.stdout
    loaded = set(done.stderr.split())
    assert "prodshield.monitor.job_runs" in loaded  # the module list is the run's
    unneeded = {
        "prodshield.monitor.read",
        "prodshield.monitor.incidents",
        "prodshield.monitor.views",
        "prodshield.evidence",
        "sqlalchemy.dialects.postgresql",
    }
    assert not unneeded & loaded, sorted(unneeded & loaded)
