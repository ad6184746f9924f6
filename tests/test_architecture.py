"""The architecture contract: layers import only downward, no import cycles, and no
function-local imports of project modules (which would hide a cycle from the contract).

The layers are declared once, in ``pyproject.toml`` (``[tool.importlinter]``), and explained in
docs/ARCHITECTURE.md; import-linter checks them here so the default test command enforces them.
"""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter import configuration
from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "strategies")


def test_the_import_contracts_in_pyproject_are_kept(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    configuration.configure()  # what the lint-imports command does first
    kept = lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True)
    assert kept, capsys.readouterr().out


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _local_project_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, import) of every import of sim/strategies made inside a function body."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking_block(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom) and in_function:
                names = (
                    [child.module or ""]
                    if isinstance(child, ast.ImportFrom)
                    else [a.name for a in child.names]
                )
                if any(n.split(".")[0] in PACKAGES for n in names):
                    found.append((child.lineno, ast.unparse(child)))
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inside)

    visit(tree, False)
    return found


def test_no_function_local_import_of_a_project_module():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(ROOT)}:{n}: {imp}" for n, imp in
                          _local_project_imports(tree)]  # fmt: skip
    assert offenders == [], "move these imports to the top (or the code to its layer):\n" + (
        "\n".join(offenders)
    )


def test_the_local_import_check_finds_a_local_import():
    tree = ast.parse(
        "import sim.rng\n"
        "def f():\n    from sim.world import groups\n    import numpy\n"
        "if TYPE_CHECKING:\n    from sim.engine.simulation import Simulation\n"
    )
    assert _local_project_imports(tree) == [(3, "from sim.world import groups")]


def test_every_module_has_a_docstring():
    missing = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []
