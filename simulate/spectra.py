"""Gram spectra of random Gaussian features: the smallest non-zero eigenvalue (S1, S3)."""

from __future__ import annotations

import numpy as np

from jamming.simulate.data import gaussian_features
from jamming.simulate.sweep import SweepSpec, derive_seed


def smallest_nonzero_gram_eigenvalue(features: np.ndarray) -> float:
    """Smallest non-zero eigenvalue of ``K / n_eff`` with ``K = features @ features.T``.

    The non-zero spectrum of ``Phi Phi^T`` equals that of ``Phi^T Phi``; the smaller of the two
    (size ``min(n_data, n_eff)``) is diagonalised, so for Gaussian features (full rank with
    probability 1) its smallest eigenvalue is the smallest non-zero one.

    Parameters
    ----------
    features : numpy.ndarray, shape (n_data, n_eff)
    """
    n_data, n_eff = features.shape
    gram = features.T @ features if n_data >= n_eff else features @ features.T
    return float(np.linalg.eigvalsh(gram / n_eff)[0])


def gram_spectrum_trials(params: dict) -> dict:
    """Smallest non-zero eigenvalue of ``K / n_eff`` for ``repeats`` Gaussian feature draws.

    Parameters
    ----------
    params : dict
        ``n_data``, ``n_eff``, ``repeats``, ``seed``.

    Returns
    -------
    dict
        ``lambda_min``: numpy.ndarray of shape (repeats,).
    """
    rng = np.random.default_rng(params["seed"])
    values = [
        smallest_nonzero_gram_eigenvalue(gaussian_features(params["n_data"], params["n_eff"], rng))
        for _ in range(params["repeats"])
    ]
    return {"lambda_min": np.array(values)}


#: Sizes and loads of the Gram-spectrum sweep per scale.
GRAM_GRIDS = {
    "quick": {"n_effs": (24, 48, 96), "phis": (0.25, 0.5, 1.0, 2.0, 4.0), "repeats": 40},
    "paper": {"n_effs": (48, 96, 192, 384, 768), "phis": (0.25, 0.5, 1.0, 2.0, 4.0),
              "repeats": 60},
    "full": {"n_effs": (48, 96, 192, 384, 768, 1536), "phis": (0.25, 0.5, 0.75, 1.0, 1.5, 2.0,
                                                                4.0), "repeats": 200},
}


def gram_grid(scale: str) -> list[dict]:
    """Points of the Gram-spectrum sweep: ``n_data = phi * n_eff`` (exact: n_eff % 4 == 0)."""
    grid = GRAM_GRIDS[scale]
    return [
        {"n_eff": n_eff, "n_data": round(phi * n_eff), "repeats": grid["repeats"],
         "seed": derive_seed(27_182, n_eff, round(phi * n_eff))}
        for n_eff in grid["n_effs"] for phi in grid["phis"]
    ]


GRAM_SWEEP = SweepSpec(
    name="gram-spectrum",
    function=gram_spectrum_trials,
    version="1",
    grid=gram_grid,
    description="smallest non-zero eigenvalue of Gaussian-feature Gram matrices (S1)",
)
