"""The API reference (``make docs``, sources in docs/sphinx) names every module and page.

Building the HTML takes too long for the suite (CI runs ``make docs``); these checks read the
sources only, so that a new module or Markdown page cannot be left out of the reference.
"""

from __future__ import annotations

import configparser
import importlib
import pkgutil
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPHINX = REPO / "docs" / "sphinx"
AUTOMODULE = re.compile(r"^\s*(?:\.\. automodule::|```\{automodule\})\s*(\S+)", re.MULTILINE)
INCLUDE = re.compile(r"^```\{include\}\s*(\S+)", re.MULTILINE)

#: Modules that are not API: ``python -m jamming`` runs the CLI when imported.
NOT_API = {"jamming.__main__"}


def package_modules() -> set[str]:
    """Every package and module of ``jamming``, from the packages that setup.cfg maps."""
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    packages = config["options"]["packages"].split()
    modules = set(packages)
    for name in packages:
        package = importlib.import_module(name)
        modules |= {f"{name}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
                    if not info.ispkg}
    return modules - NOT_API


def sphinx_sources() -> list[Path]:
    return sorted(p for p in SPHINX.rglob("*") if p.suffix in {".rst", ".md"})


def test_every_module_has_an_automodule_directive_and_no_other():
    documented = [m for p in sphinx_sources() for m in AUTOMODULE.findall(p.read_text())]
    assert len(documented) == len(set(documented)), "a module is documented twice"
    modules = package_modules()
    assert "jamming.theory.capacity" in modules and "jamming.cli" in modules
    missing = sorted(modules - set(documented))
    assert not missing, f"add to a page of docs/sphinx/api: {missing}"
    stale = sorted(set(documented) - modules)
    assert not stale, f"no such module, remove from docs/sphinx/api: {stale}"


def test_every_markdown_page_of_the_repository_is_included():
    included = {(p.parent / target).resolve() for p in sphinx_sources()
                for target in INCLUDE.findall(p.read_text())}
    assert all(path.is_file() for path in included), "an include names a missing file"
    pages = {REPO / "README.md", REPO / "CONTRIBUTING.md", REPO / "benchmarks" / "README.md"}
    pages |= {p for p in (REPO / "docs").rglob("*.md")
              if SPHINX not in p.parents and "_build" not in p.parts}
    missing = sorted(str(p.relative_to(REPO)) for p in pages - included)
    assert not missing, ("for each, add docs/sphinx/<its path> with the two lines "
                         f"'```{{include}} <relative path to it>' and '```': {missing}")


def test_each_markdown_page_mirrors_the_path_of_the_file_it_includes():
    """Pages sit at their file's repository path, so the files' relative links resolve."""
    for page in SPHINX.rglob("*.md"):
        for target in INCLUDE.findall(page.read_text()):
            source = (page.parent / target).resolve()
            assert page.relative_to(SPHINX) == source.relative_to(REPO), page
