"""Sweeps of square-loss interpolation: Gram spectra and exact kernel gradient flow (S1).

``gram-spectrum``
    The smallest non-zero eigenvalue of the Gram matrix of Gaussian features
    (:func:`jamming.simulate.spectra.smallest_nonzero_gram_eigenvalue`) across loads.
``kernel-flow``
    End points of the exact, event-driven kernel gradient flow
    (:func:`jamming.simulate.kernel_flow.integrate_kernel_flow`) for the square and the
    quadratic-hinge loss.
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.data import gaussian_features, random_labels
from jamming.simulate.kernel_flow import LOSSES, integrate_kernel_flow
from jamming.simulate.spectra import smallest_nonzero_gram_eigenvalue
from jamming.sweeps.spec import SweepSpec, derive_seed, shared_root_seed


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


def gram_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of the Gram-spectrum sweep: ``n_data = phi * n_eff`` (exact: n_eff % 4 == 0)."""
    grid = GRAM_GRIDS[scale]
    return [
        {"n_eff": n_eff, "n_data": round(phi * n_eff), "repeats": grid["repeats"],
         "seed": derive_seed(root_seed, n_eff, round(phi * n_eff))}
        for n_eff in grid["n_effs"] for phi in grid["phis"]
    ]


GRAM_SWEEP = SweepSpec(
    name="gram-spectrum",
    function=gram_spectrum_trials,
    version="1",
    grid=gram_grid,
    root_seeds=shared_root_seed(27_182),
    description="smallest non-zero eigenvalue of Gaussian-feature Gram matrices (S1)",
)


def kernel_flow_trial(params: dict) -> dict:
    """One kernel-flow run on random features: ``K = Phi Phi^T / n_eff`` (sweep function).

    Parameters
    ----------
    params : dict
        ``n_data``, ``n_eff``, ``loss``, ``seed``. Features Gaussian; for the square loss the
        targets are Gaussian, for the quadratic hinge random labels; ``f0`` Gaussian of
        variance 1/4.

    Returns
    -------
    dict
        ``kernel`` (n_data, n_data), ``y``, ``f0``, ``f`` (final outputs), ``time``,
        ``events``, ``speed``, ``converged``.
    """
    rng = np.random.default_rng(params["seed"])
    n_data, n_eff = params["n_data"], params["n_eff"]
    features = gaussian_features(n_data, n_eff, rng)
    kernel = features @ features.T / n_eff
    if params["loss"] == "square":
        y = rng.standard_normal(n_data)
    else:
        y = random_labels(n_data, rng)
    f0 = 0.5 * rng.standard_normal(n_data)
    result = integrate_kernel_flow(kernel, y, f0, params["loss"])
    return {"kernel": kernel, "y": y, "f0": f0, "f": result.f, "time": result.time,
            "events": result.events, "speed": result.speed, "converged": result.converged}


#: (n_data, n_eff) pairs of the kernel-flow sweep: K singular (phi > 1: SAT for the hinge at
#: phi = 1.5 with probability 0.97, UNSAT at phi >= 2.5) and regular (phi = 0.5).
KERNEL_FLOW_GRIDS = {
    "quick": {"sizes": ((50, 20), (45, 30), (30, 60)), "seeds": 2},
    "paper": {"sizes": ((50, 20), (90, 30), (120, 40), (45, 30), (30, 60)), "seeds": 5},
    "full": {"sizes": ((50, 20), (90, 30), (120, 40), (200, 80), (45, 30), (30, 60)),
             "seeds": 10},
}


def kernel_flow_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of the kernel-flow sweep: sizes x losses x seeds."""
    grid = KERNEL_FLOW_GRIDS[scale]
    return [
        {"n_data": n, "n_eff": p, "loss": loss,
         "seed": derive_seed(root_seed, n, p, index, repeat)}
        for n, p in grid["sizes"]
        for index, loss in enumerate(LOSSES)
        for repeat in range(grid["seeds"])
    ]


KERNEL_FLOW_SWEEP = SweepSpec(
    name="kernel-flow",
    function=kernel_flow_trial,
    version="2",
    grid=kernel_flow_grid,
    root_seeds=shared_root_seed(31_415),
    description="exact event-driven kernel gradient flow, frozen random-feature Gram matrix (S1)",
)
