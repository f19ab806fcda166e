"""Layout rules: light imports, one-way layers (theory, simulate -> sweeps -> compare)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _imported_modules(tree: ast.AST, *, top_level: bool) -> set[str]:
    """Modules a source imports: ``import a.b``, ``from a import b`` (as ``a`` and ``a.b``),
    and ``importlib.import_module("a.b")``; with ``top_level``, outside functions only."""
    modules: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function = True
        if not (top_level and in_function):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
                modules.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                modules.add(str(node.args[0].value))
        for child in ast.iter_child_nodes(node):
            visit(child, in_function)

    visit(tree, False)
    return modules


def _imports(folder: str, *, top_level: bool) -> dict[Path, set[str]]:
    return {path: _imported_modules(ast.parse(path.read_text()), top_level=top_level)
            for path in (REPO / folder).rglob("*.py")}


def test_import_scan_sees_every_form_of_import():
    source = ("import torch\nfrom jamming import sweeps\n"
              "def f():\n    import numba\n    importlib.import_module('jamming.compare.x')\n")
    assert _imported_modules(ast.parse(source), top_level=False) >= {
        "torch", "jamming.sweeps", "numba", "jamming.compare.x"}
    assert "numba" not in _imported_modules(ast.parse(source), top_level=True)


@pytest.mark.parametrize("folder, forbidden, top_level", [
    ("theory", ("jamming.simulate", "jamming.sweeps", "jamming.compare"), False),
    # an optional GPU backend may import torch inside the function that uses it
    ("theory", ("torch", "numba"), True),
    ("simulate", ("jamming.theory", "jamming.sweeps", "jamming.compare"), False),
    # sweeps may import theory, for a predicted location a grid is centred on
    ("sweeps", ("jamming.compare",), False),
])
def test_imports_point_one_way(folder, forbidden, top_level):
    for path, modules in _imports(folder, top_level=top_level).items():
        bad = {m for m in modules if m.startswith(forbidden)}
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_import_and_cli_listing_do_not_load_torch_or_numba(tmp_path):
    from jamming.sweeps.store import Store

    Store(tmp_path / "s.sqlite").close()  # list reads an existing store only
    code = (
        "import sys, jamming, jamming.cli, jamming.compare.claims\n"
        "from jamming.cli import main\n"
        f"assert main(['--store', {str(tmp_path / 's.sqlite')!r}, 'list']) == 0\n"
        "heavy = sorted(m for m in ('torch', 'numba', 'matplotlib') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_package_maps_the_top_level_folders():
    import jamming.compare
    import jamming.simulate
    import jamming.sweeps
    import jamming.theory

    for module, folder in ((jamming.theory, "theory"), (jamming.simulate, "simulate"),
                           (jamming.sweeps, "sweeps"), (jamming.compare, "compare")):
        assert Path(module.__file__).resolve().parent == REPO / folder


#: The sweep machinery; every other module of sweeps/ is a grid module.
SWEEP_MACHINERY = {"__init__", "spec", "store", "executors", "runner", "catalog"}


def test_grid_modules_mirror_the_claim_modules():
    """sweeps/X.py feeds compare/X.py: each grid module has its claim module."""
    grids = {path.stem for path in (REPO / "sweeps").glob("*.py")} - SWEEP_MACHINERY
    claims = {path.stem for path in (REPO / "compare").glob("*.py")}
    assert grids and grids <= claims, sorted(grids - claims)


def test_simulate_holds_simulators_only():
    """No store, runner, catalog or grid in simulate/: nothing there defines a sweep."""
    for path in (REPO / "simulate").rglob("*.py"):
        text = path.read_text()
        assert "SweepSpec" not in text and "_GRIDS" not in text, path.relative_to(REPO)
    assert not {"store", "sweep", "catalog"} & {p.stem for p in (REPO / "simulate").glob("*.py")}


@pytest.mark.parametrize("folder", ["theory", "simulate", "sweeps", "compare"])
def test_each_subpackage_lists_its_public_modules(folder):
    """``__all__`` of a subpackage names exactly its public modules (no leading underscore)."""
    import importlib

    package = importlib.import_module(f"jamming.{folder}")
    modules = {p.stem for p in (REPO / folder).glob("*.py") if not p.stem.startswith("_")}
    assert sorted(package.__all__) == sorted(modules)
