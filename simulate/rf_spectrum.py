"""Spectra of random-feature Gram matrices (S3, Pennington–Worah).

With :math:`W\\in\\mathbb{R}^{n_1\\times n_0}` and :math:`X\\in\\mathbb{R}^{n_0\\times m}` of
i.i.d. :math:`N(0,1)` entries, :math:`Y = f(WX/\\sqrt{n_0})` (entrywise) and
:math:`M = YY^\\top/m` (:math:`n_1\\times n_1`); :math:`\\phi = n_0/m`,
:math:`\\psi = n_0/n_1`. The activation is centred for :math:`z\\sim N(0,1)`; ``tanh`` is odd,
so it stays centred whatever the scale of its argument (the row and column norms of
:math:`W` and :math:`X` fluctuate at finite size).
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.activations import check_activation, numpy_activation
from jamming.simulate.sweep import SweepSpec, derive_seed

#: Centred activations (E f(z) = 0 for z ~ N(0, 1)), names of
#: :data:`jamming.simulate.activations.ACTIVATIONS`.
ACTIVATIONS = ("tanh",)


def _sizes(params: dict) -> tuple[int, int, int]:
    """``(n0, n1, m)`` of a point; refuses ratios that the integer sizes do not realise."""
    n0 = int(params["n0"])
    n1, m = round(n0 / params["psi"]), round(n0 / params["phi"])
    if not (n1 >= 1 and m >= 1 and np.isclose(n0 / n1, params["psi"], rtol=1e-12, atol=0)
            and np.isclose(n0 / m, params["phi"], rtol=1e-12, atol=0)):
        raise ValueError(f"n0 = {n0} does not realise phi = {params['phi']}, "
                         f"psi = {params['psi']} with integer n1 and m")
    return n0, n1, m


def random_feature_eigenvalues(n0: int, n1: int, m: int, activation: str,
                               rng: np.random.Generator) -> np.ndarray:
    """Increasing eigenvalues of :math:`M = YY^\\top/m` for one draw of :math:`W, X`.

    The smaller of :math:`YY^\\top` and :math:`Y^\\top Y` is diagonalised (float64); when
    :math:`m < n_1` the :math:`n_1 - m` eigenvalues that vanish by rank are returned as exact
    zeros.

    Returns
    -------
    numpy.ndarray, shape (n1,)
    """
    f = numpy_activation(check_activation(activation, ACTIVATIONS))
    weights = rng.standard_normal((n1, n0))
    inputs = rng.standard_normal((n0, m))
    features = f(weights @ inputs / np.sqrt(n0))
    gram = features @ features.T if n1 <= m else features.T @ features
    values = np.linalg.eigvalsh(gram / m)
    return np.concatenate([np.zeros(n1 - values.size), values])


def random_feature_spectrum_trials(params: dict) -> dict:
    """Eigenvalues of ``repeats`` independent random-feature Gram matrices.

    Parameters
    ----------
    params : dict
        ``activation`` (one of :data:`ACTIVATIONS`), ``n0``, ``phi`` (= n0/m),
        ``psi`` (= n0/n1), ``repeats``, ``seed``.

    Returns
    -------
    dict
        ``eigenvalues``: numpy.ndarray of shape (repeats, n1), each row increasing.
    """
    n0, n1, m = _sizes(params)
    rng = np.random.default_rng(params["seed"])
    return {"eigenvalues": np.stack([
        random_feature_eigenvalues(n0, n1, m, params["activation"], rng)
        for _ in range(int(params["repeats"]))])}


#: Sizes, loads and repeats per scale (psi = n0/n1 fixed; m = n0/phi exact for these n0).
RF_SPECTRUM_GRIDS = {
    "quick": {"n0s": (60, 120, 240), "phis": (0.25, 0.5, 0.8, 1.25, 2.0, 4.0), "psi": 1.0,
              "repeats": 40},
    "paper": {"n0s": (100, 200, 400), "phis": (0.25, 0.5, 0.8, 1.25, 2.0, 4.0), "psi": 1.0,
              "repeats": 100},
    "full": {"n0s": (100, 200, 400, 800), "phis": (0.25, 0.5, 0.8, 1.25, 2.0, 4.0),
             "psi": 1.0, "repeats": 200},
}


def rf_spectrum_grid(scale: str) -> list[dict]:
    """Points of the random-feature spectrum sweep (tanh), one seed per (n0, phi, psi)."""
    grid = RF_SPECTRUM_GRIDS[scale]
    return [
        {"activation": "tanh", "n0": n0, "phi": phi, "psi": grid["psi"],
         "repeats": grid["repeats"],
         "seed": derive_seed(31_415, n0, round(1000 * phi), round(1000 * grid["psi"]))}
        for n0 in grid["n0s"] for phi in grid["phis"]
    ]


RF_SPECTRUM_SWEEP = SweepSpec(
    name="rf-spectrum",
    function=random_feature_spectrum_trials,
    version="1",
    grid=rf_spectrum_grid,
    description="eigenvalues of random-feature Gram matrices f(WX/sqrt(n0)) (S3, "
                "Pennington-Worah)",
)
