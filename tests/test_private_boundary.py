"""Private names stay private: no module imports or reaches into another module's ``_name``.

A name with one leading underscore (``_helper``, ``_CONSTANT``, a module ``_timing``) belongs
to the module that defines it; what another module needs is public and documented. The
check walks the source folders with :mod:`ast` and reports, with ``file:line``,

* ``from M import _name`` and an import of a module path with a private part
  (``import M._mod``, ``from _mod import name``), whatever ``M`` is;
* ``alias._name`` where ``alias`` (or a dotted chain from it) is a module of this project,
  and its string forms ``getattr(alias, "_name")``, ``monkeypatch.setattr(alias, "_name",
  ...)`` and ``mock.patch("jamming.M._name")``.

Dunder names (``__version__``, ``f.__code__``) are fine, so are ``self._x``, ``cls._x`` and
the private attributes of any object that is not a module, and a module's own names.
A test file ``tests/<layer>/test_X.py`` may use the private names of the module it tests,
``jamming.<layer>.X`` (``tests/test_X.py``: ``jamming.X``), and of the modules that
:data:`ALLOWED` grants it, each with its reason.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("jamming", "theory", "simulate", "compare", "sweeps", "benchmarks", "tests")
# source folder -> the import package that setup.cfg maps onto it
PACKAGES = {"jamming": "jamming", "theory": "jamming.theory", "simulate": "jamming.simulate",
            "compare": "jamming.compare", "sweeps": "jamming.sweeps"}
# folders whose modules are imported by bare name (the script's folder, pytest's pythonpath)
SIBLING_FOLDERS = ("benchmarks", "tests/helpers")

# (file, module whose private names it may use): reason. Keep it short; every entry must be
# in use (test_every_allowance_is_still_needed).
ALLOWED = {
    ("tests/compare/test_diagonal_claims.py", "jamming.compare.diagonal_networks"):
        "unit tests of compare/diagonal_networks.py, the module of the diagonal claims",
    ("tests/compare/test_finite_width_claims.py", "jamming.compare.finite_width"):
        "unit tests of compare/finite_width.py, the module of the finite-width claims",
    ("tests/compare/test_large_steps_claims.py", "jamming.compare.large_steps"):
        "unit tests of compare/large_steps.py, the module of the large-step claims",
}

_DOTTED_PATH = re.compile(r"jamming(\.\w+)+")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_name(rel: Path) -> str:
    """The import name of the source file ``rel`` (relative to the repository root)."""
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] in PACKAGES:
        return ".".join([PACKAGES[parts[0]], *parts[1:]])
    folder = "/".join(parts[:-1])
    if folder in SIBLING_FOLDERS:
        return parts[-1]
    return ".".join(parts)  # a test module: named after its path, never imported


def source_files(root: Path) -> list[Path]:
    return sorted(path for folder in FOLDERS if (root / folder).is_dir()
                  for path in (root / folder).rglob("*.py"))


def granted(rel: str, allowed: Mapping[tuple[str, str], str]) -> set[str]:
    """The modules whose private names the file ``rel`` may use besides its own."""
    modules = {module for (path, module) in allowed if path == rel}
    parts = rel.split("/")
    stem = parts[-1].removesuffix(".py")
    if parts[0] == "tests" and stem.startswith("test_"):
        tested = stem.removeprefix("test_")
        if len(parts) == 2:
            modules.add(f"jamming.{tested}")
        elif len(parts) == 3 and parts[1] in PACKAGES:
            modules.add(f"{PACKAGES[parts[1]]}.{tested}")
    return modules


class _FileChecker(ast.NodeVisitor):
    def __init__(self, rel: str, own: str, is_package: bool, project: set[str],
                 may_use: set[str]):
        self.rel, self.own, self.project, self.may_use = rel, own, project, may_use
        self.package = own if is_package else own.rpartition(".")[0]
        self.aliases: dict[str, str] = {}  # local name -> project module it is bound to
        self.found: list[tuple[int, str]] = []
        self.used: set[str] = set()

    def _owned_elsewhere(self, owner: str) -> bool:
        """Whether a private name of ``owner`` is off limits here (and note the allowance)."""
        if owner == self.own:
            return False
        if owner in self.may_use:
            self.used.add(owner)
            return False
        return True

    def _private_path(self, node, path: str) -> None:
        parts = path.split(".")
        for i, part in enumerate(parts):
            if _is_private(part):
                owner = ".".join(parts[:i])
                if self._owned_elsewhere(owner):
                    self.found.append((node.lineno, f"imports the private module {path}"))
                return

    def _resolve(self, node) -> str | None:
        """The project module that the expression ``node`` names, if any."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value)
            if base is not None and f"{base}.{node.attr}" in self.project:
                return f"{base}.{node.attr}"
        return None

    def _private_attribute(self, node, module: str, name: str) -> None:
        if _is_private(name) and self._owned_elsewhere(module):
            self.found.append((node.lineno, f"uses the private name {module}.{name}"))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._private_path(node, alias.name)
            if alias.asname is not None:
                if alias.name in self.project:
                    self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.partition(".")[0]
                if top in self.project:
                    self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module
        self._private_path(node, source)
        for alias in node.names:
            if _is_private(alias.name) and self._owned_elsewhere(source):
                self.found.append((node.lineno, f"imports the private name {source}.{alias.name}"))
            if f"{source}.{alias.name}" in self.project:
                self.aliases[alias.asname or alias.name] = f"{source}.{alias.name}"

    def visit_Attribute(self, node: ast.Attribute) -> None:
        module = self._resolve(node.value)
        if module is not None:
            self._private_attribute(node, module, node.attr)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        args = node.args
        if len(args) >= 2 and isinstance(args[1], ast.Constant) and isinstance(args[1].value, str):
            module = self._resolve(args[0])  # getattr(module, "_x"), monkeypatch.setattr(...)
            if module is not None:
                self._private_attribute(node, module, args[1].value)
        if (args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)
                and _DOTTED_PATH.fullmatch(args[0].value)):  # mock.patch("jamming.m._x")
            parts = args[0].value.split(".")
            for i in range(len(parts) - 1, 0, -1):
                if ".".join(parts[:i]) in self.project:
                    self._private_attribute(node, ".".join(parts[:i]), parts[i])
                    break
        self.generic_visit(node)


def check(root: Path, allowed: Mapping[tuple[str, str], str] = ALLOWED):
    """Violations under ``root`` as ``'file:line: message'``, and the allowances used.

    Returns
    -------
    violations : list of str
        Sorted by file and line.
    used : set of (str, str)
        The entries of ``allowed`` that some file needed.
    """
    files = source_files(root)
    project = set()
    for path in files:
        name = module_name(path.relative_to(root))
        parts = name.split(".")
        project.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    violations, used = [], set()
    for path in files:
        rel = path.relative_to(root)
        checker = _FileChecker(rel.as_posix(), module_name(rel), rel.name == "__init__.py",
                               project, granted(rel.as_posix(), allowed))
        checker.visit(ast.parse(path.read_text(), filename=str(path)))
        violations += [(rel.as_posix(), line, f"{rel.as_posix()}:{line}: {message}")
                       for line, message in checker.found]
        used |= {(rel.as_posix(), module) for module in checker.used
                 if (rel.as_posix(), module) in allowed}
    return [text for *_, text in sorted(violations)], used


def test_no_module_uses_another_modules_private_names():
    violations, _ = check(REPO)
    assert not violations, "private names used outside their module:\n" + "\n".join(violations)


def test_every_allowance_is_still_needed():
    _, used = check(REPO)
    stale = [f"{path} -> {module} ({reason})" for (path, module), reason in ALLOWED.items()
             if (path, module) not in used]
    assert not stale, "remove these entries from ALLOWED:\n" + "\n".join(stale)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_checker_reports_every_planted_violation(tmp_path):
    _write(tmp_path, {
        "jamming/__init__.py": "",
        "simulate/__init__.py": "",
        "simulate/a.py": """\
            _HIDDEN = 1
            PUBLIC = 2


            class Thing:
                def _method(self):
                    return self._field
            """,
        "simulate/_secret.py": "",
        "simulate/b.py": """\
            import jamming.simulate.a
            from jamming.simulate import a as alias
            from jamming.simulate.a import _HIDDEN
            import jamming.simulate._secret
            from . import _secret
            from .a import PUBLIC, Thing

            _OWN = alias._HIDDEN
            value = jamming.simulate.a._HIDDEN
            same = getattr(alias, "_HIDDEN")
            fine = (alias.PUBLIC, alias.__doc__, Thing()._method(), _OWN, PUBLIC)
            """,
        "benchmarks/_helper.py": "",
        "benchmarks/run.py": "from _helper import best_time\n",
        "tests/simulate/test_a.py": """\
            from jamming.simulate import a
            from jamming.simulate.a import _HIDDEN
            from jamming.simulate.b import _OWN


            def test(monkeypatch):
                monkeypatch.setattr(a, "_HIDDEN", 3)
                monkeypatch.setattr("jamming.simulate.b._OWN", 4)
            """,
        "tests/simulate/test_c.py": "from jamming.simulate.a import _HIDDEN\n",
        "tests/test_d.py": "from jamming.simulate.a import _HIDDEN\n",
    })
    allowed = {("tests/simulate/test_c.py", "jamming.simulate.a"): "planted",
               ("tests/test_d.py", "jamming.simulate.b"): "planted, unused"}
    violations, used = check(tmp_path, allowed)
    assert violations == [
        "benchmarks/run.py:1: imports the private module _helper",
        "simulate/b.py:3: imports the private name jamming.simulate.a._HIDDEN",
        "simulate/b.py:4: imports the private module jamming.simulate._secret",
        "simulate/b.py:5: imports the private name jamming.simulate._secret",
        "simulate/b.py:8: uses the private name jamming.simulate.a._HIDDEN",
        "simulate/b.py:9: uses the private name jamming.simulate.a._HIDDEN",
        "simulate/b.py:10: uses the private name jamming.simulate.a._HIDDEN",
        "tests/simulate/test_a.py:3: imports the private name jamming.simulate.b._OWN",
        "tests/simulate/test_a.py:8: uses the private name jamming.simulate.b._OWN",
        "tests/test_d.py:1: imports the private name jamming.simulate.a._HIDDEN",
    ]
    assert used == {("tests/simulate/test_c.py", "jamming.simulate.a")}
