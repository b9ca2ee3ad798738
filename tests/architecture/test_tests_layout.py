"""The tests' own layout: test files in a folder per capability (journeys apart), shared code in
``tests/support/``, fixtures in each folder's ``conftest.py``, and no test module importing another.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SUPPORT = TESTS / "support"


def _python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_test_file_at_the_root() -> None:
    loose = sorted(p.name for p in TESTS.glob("test_*.py"))
    assert not loose, f"tests/ root holds {loose}: put each in its capability's folder"


def test_helpers_live_in_support() -> None:
    """Outside tests/support, a Python file is a test module or a folder's conftest.py."""
    stray = [
        str(p.relative_to(TESTS))
        for p in _python_files()
        if SUPPORT not in p.parents and not p.name.startswith("test_") and p.name != "conftest.py"
    ]
    assert not stray, f"helpers outside tests/support: {stray}"


def test_test_folders_are_not_packages() -> None:
    """Test folders are not packages (pytest puts each on sys.path, names stay unique)."""
    folders = {p.parent for p in TESTS.rglob("test_*.py")}
    for folder in folders:
        assert not (folder / "__init__.py").exists(), f"{folder.relative_to(TESTS)}: __init__.py"
    names = [p.name for p in TESTS.rglob("test_*.py")]
    assert len(names) == len(set(names)), "two test modules share a file name"


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.append((node.module, [alias.name for alias in node.names]))
    return out


def test_test_modules_import_only_support() -> None:
    """No test module imports another test module or a conftest, and none takes a private name
    from tests/support: what two files share is public in tests/support."""
    problems = []
    for path in _python_files():
        where = str(path.relative_to(TESTS))
        for module, names in _imports(path):
            head = module.split(".")[0]
            if head.startswith("test_") or head == "conftest":
                problems.append(f"{where} imports {module}")
            if head == "support":
                private = [n for n in names if n.startswith("_")]
                if private:
                    problems.append(f"{where} takes {private} from {module}")
    assert not problems, "\n".join(problems)
