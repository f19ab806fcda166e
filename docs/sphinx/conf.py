"""Sphinx configuration of the API reference (``make docs`` builds it into docs/_build/html).

The source folder mirrors the repository's layout for its Markdown pages (``README.md``,
``CONTRIBUTING.md``, ``benchmarks/README.md``, ``docs/derivations/*.md``, ``docs/notes/*.md``):
each page here only includes the original, so the originals' relative links, written for
GitHub, resolve to the same pages here. The API pages in ``api/`` name every module of the
package (``tests/test_docs.py`` checks that none is missing).
"""

import jamming

project = "jamming"
author = "the jamming authors"
copyright = "the jamming authors"
version = release = jamming.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]

root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = f"jamming {release}"

# Every cross-reference must resolve (a broken :func: in a docstring fails the build), except
# those to other projects: the build is offline (no intersphinx inventories), so numpy.ndarray,
# pathlib.Path, collections.abc.Mapping and the like, named by the signatures' type hints and
# by the docstrings, cannot resolve.
nitpicky = True
_THIRD_PARTY = ("argparse", "collections", "dask", "distributed", "matplotlib", "mpmath",
                "np", "numba", "numpy", "os", "pandas", "pathlib", "pd", "scipy", "sympy", "torch",
                "types", "typing")
nitpick_ignore_regex = [(r"py:.*", rf"({'|'.join(_THIRD_PARTY)})\..*")]
# numpydoc links the dataclass field ``values`` of Prediction (a Mapping) to the inherited
# method Mapping.values, which autodoc does not document: a numpydoc artefact.
nitpick_ignore = [("py:obj", "values")]

# autodoc: members in source order, type hints in the signature only (numpydoc's Parameters
# sections say the types in words).
autodoc_member_order = "bysource"
autodoc_typehints = "signature"

# numpydoc: one entry per method (autodoc's :members: already lists them; numpydoc's own
# member tables would describe each a second time).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# MyST for the Markdown pages: $...$ and $$...$$ maths as in the derivations, and GitHub-style
# anchors for the README's #section links.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
