"""Paths, scales and environment switches shared by the command line and the claims.

Only the standard library is imported here, so that the CLI starts fast.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Simulation scales, from cheapest to most expensive.
#: ``quick``: seconds on one CPU core (tests, CI); ``paper``: the paper's figures (minutes);
#: ``full``: larger grids for convergence studies.
SCALES = ("quick", "paper", "full")

#: Environment variable that selects the results store when ``--store`` is not given.
STORE_ENV = "JAMMING_STORE"

#: Environment variable that selects the scale when ``--scale`` is not given.
SCALE_ENV = "JAMMING_SCALE"

#: The scale of every command when neither ``--scale`` nor ``$JAMMING_SCALE`` is given.
DEFAULT_SCALE = "quick"

#: Environment variable that selects the paper folder (default: ``./paper`` or the checkout's).
PAPER_ENV = "JAMMING_PAPER_DIR"

DEFAULT_STORE = Path("results") / "jamming.sqlite"

#: The Debian packages that provide ``latexmk`` and what the paper needs.
TEX_PACKAGES = (
    "latexmk texlive-latex-recommended texlive-latex-extra "
    "texlive-fonts-recommended texlive-science"
)


def check_scale(scale: str) -> str:
    """Return ``scale`` if it is one of :data:`SCALES`, else raise ``ValueError``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    return scale


def default_scale() -> str:
    """The scale of a command run without ``--scale``: ``$JAMMING_SCALE``, else ``quick``.

    The same for every command, so that ``jamming sweep`` then ``jamming validate`` use the
    same grids (and the second finds the first's results in the store).

    Raises
    ------
    ValueError
        If ``$JAMMING_SCALE`` is set to something other than one of :data:`SCALES`.
    """
    env = os.environ.get(SCALE_ENV)
    if not env:
        return DEFAULT_SCALE
    if env not in SCALES:
        raise ValueError(f"${SCALE_ENV} must be one of {', '.join(SCALES)}; got {env!r}")
    return env


def store_path(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the results store: ``explicit``, else ``$JAMMING_STORE``, else the default.

    The default is ``results/jamming.sqlite``. A relative path is returned as is and
    resolves against the working directory (see :class:`jamming.sweeps.store.Store`).
    """
    if explicit:
        return Path(explicit)
    env = os.environ.get(STORE_ENV)
    return Path(env) if env else DEFAULT_STORE


def paper_dir() -> Path:
    """Resolve the LaTeX paper folder.

    ``$JAMMING_PAPER_DIR`` if set, else ``./paper`` if it holds ``main.tex``, else the
    ``paper/`` folder of the checkout this package was installed from (editable installs).
    """
    env = os.environ.get(PAPER_ENV)
    if env:
        return Path(env)
    local = Path("paper")
    if (local / "main.tex").is_file():
        return local
    return Path(__file__).resolve().parents[1] / "paper"
