"""Sweep of Cover's law: LP separability of Gaussian features with random labels (S1).

``cover-separability``
    Per point ``(N_eff, N_data)``, the number of separable instances among ``trials`` fresh
    draws of Gaussian features and random +-1 labels, each decided exactly by
    :func:`jamming.simulate.separability.is_linearly_separable`.
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.data import gaussian_features, random_labels
from jamming.simulate.separability import is_linearly_separable
from jamming.sweeps.spec import SweepSpec, derive_seed, shared_root_seed


def cover_trials(params: dict) -> dict:
    """Count separable instances among independent Gaussian-feature, random-label problems.

    Parameters
    ----------
    params : dict
        ``n_eff``, ``n_data``, ``trials`` (int) and ``seed`` (int).

    Returns
    -------
    dict
        ``n_separable`` (int) and ``trials`` (int).
    """
    rng = np.random.default_rng(params["seed"])
    n_data, n_eff = params["n_data"], params["n_eff"]
    separable = sum(
        is_linearly_separable(gaussian_features(n_data, n_eff, rng), random_labels(n_data, rng))
        for _ in range(params["trials"])
    )
    return {"n_separable": int(separable), "trials": int(params["trials"])}


#: Grid of the Cover sweep at each scale: feature dimensions, number of loads in
#: [0.5, 4], trials per point and blocks (records) per point.
COVER_GRIDS = {
    "quick": {"n_effs": (5, 10, 20), "n_loads": 8, "trials": 100, "blocks": 1},
    "paper": {"n_effs": (5, 10, 20, 40, 80), "n_loads": 15, "trials": 160, "blocks": 4},
    "full": {"n_effs": (5, 10, 20, 40, 80, 160), "n_loads": 29, "trials": 320, "blocks": 8},
}


COVER_ROOT_SEED = 20_240_601


def cover_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of the Cover sweep: N_data = round(alpha N_eff) for alpha in [0.5, 4].

    At paper scale every (N_eff, N_data) gets 4 x 160 = 640 trials, so the standard error of
    the separable fraction is at most 0.5/sqrt(640) = 0.0198.
    """
    grid = COVER_GRIDS[scale]
    points = []
    for n_eff in grid["n_effs"]:
        loads = np.linspace(0.5, 4.0, grid["n_loads"])
        for n_data in sorted({max(1, round(a * n_eff)) for a in loads}):
            for block in range(grid["blocks"]):
                points.append({
                    "n_eff": n_eff,
                    "n_data": n_data,
                    "trials": grid["trials"],
                    "seed": derive_seed(root_seed, n_eff, n_data, block),
                })
    return points


COVER_SWEEP = SweepSpec(
    name="cover-separability",
    function=cover_trials,
    version="2",
    grid=cover_grid,
    root_seeds=shared_root_seed(COVER_ROOT_SEED),
    description="certified LP separability of Gaussian features, random labels (S1, Cover)",
)
