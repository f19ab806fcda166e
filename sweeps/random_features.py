"""Sweep of the eigenvalue spectrum of random-feature Gram matrices (S3).

``rf-spectrum``
    Eigenvalues of ``Y^T Y / m`` for random features ``Y = f(W X / sqrt(n0))``
    (:func:`jamming.simulate.rf_spectrum.random_feature_eigenvalues`) at several sizes and
    ratios, for the Pennington–Worah law.
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.rf_spectrum import random_feature_eigenvalues
from jamming.sweeps.spec import SweepSpec, derive_seed, shared_root_seed


def _sizes(params: dict) -> tuple[int, int, int]:
    """``(n0, n1, m)`` of a point; refuses ratios that the integer sizes do not realise."""
    n0 = int(params["n0"])
    n1, m = round(n0 / params["psi"]), round(n0 / params["phi"])
    if not (n1 >= 1 and m >= 1 and np.isclose(n0 / n1, params["psi"], rtol=1e-12, atol=0)
            and np.isclose(n0 / m, params["phi"], rtol=1e-12, atol=0)):
        raise ValueError(f"n0 = {n0} does not realise phi = {params['phi']}, "
                         f"psi = {params['psi']} with integer n1 and m")
    return n0, n1, m


def random_feature_spectrum_trials(params: dict) -> dict:
    """Eigenvalues of ``repeats`` independent random-feature Gram matrices.

    Parameters
    ----------
    params : dict
        ``activation`` (one of :data:`jamming.simulate.rf_spectrum.ACTIVATIONS`), ``n0``,
        ``phi`` (= n0/m), ``psi`` (= n0/n1), ``repeats``, ``seed``: Pennington & Worah's
        :math:`\\phi, \\psi`, the ``dim_per_sample`` and ``dim_per_feature`` of
        :mod:`jamming.theory.random_matrix` (not the package's load and features per
        dimension).

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


def rf_spectrum_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of the random-feature spectrum sweep (tanh), one seed per (n0, phi, psi)."""
    grid = RF_SPECTRUM_GRIDS[scale]
    return [
        {"activation": "tanh", "n0": n0, "phi": phi, "psi": grid["psi"],
         "repeats": grid["repeats"],
         "seed": derive_seed(root_seed, n0, round(1000 * phi), round(1000 * grid["psi"]))}
        for n0 in grid["n0s"] for phi in grid["phis"]
    ]


RF_SPECTRUM_SWEEP = SweepSpec(
    name="rf-spectrum",
    function=random_feature_spectrum_trials,
    version="1",
    grid=rf_spectrum_grid,
    root_seeds=shared_root_seed(31_415),
    description="eigenvalues of random-feature Gram matrices f(WX/sqrt(n0)) (S3, "
                "Pennington-Worah)",
)
