"""Figure helpers: the package style, a headless backend, and where figures are written."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

STYLE = Path(__file__).with_name("style.mplstyle")


@contextmanager
def styled():
    """Use the Agg backend and the package style (:file:`style.mplstyle`) inside the block."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.style.context(STYLE):
        yield plt


def figure_filename(claim_id: str) -> str:
    """File name of a claim's figure: ``S1.cover-finite-size`` -> ``S1-cover-finite-size.pdf``."""
    return claim_id.replace(".", "-") + ".pdf"


def save(figure, folder: Path, claim_id: str) -> Path:
    """Write ``figure`` as vector PDF into ``folder`` and close it; return the path."""
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / figure_filename(claim_id)
    figure.savefig(path, metadata={"CreationDate": None})
    plt.close(figure)
    return path
