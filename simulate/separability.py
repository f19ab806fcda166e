r"""Exact linear separability of labelled points, and the Cover sweep built on it.

Points :math:`x_\mu \in \mathbb{R}^{N_\mathrm{eff}}` with labels :math:`y_\mu=\pm1` are
separable through the origin iff some :math:`w` has :math:`y_\mu\,w\cdot x_\mu > 0` for all
:math:`\mu`; by scale invariance, iff the polyhedron :math:`\{w: y_\mu\, w\cdot x_\mu \ge 1\}`
is non-empty. That is a linear-programming feasibility problem, decided by the simplex/IPM
solver HiGHS (through :func:`scipy.optimize.linprog`) up to its feasibility tolerance
(1e-7); for points in general position a tie at that scale has probability ~0.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from jamming.simulate.data import gaussian_features, random_labels
from jamming.simulate.sweep import SweepSpec, derive_seed

_LP_FEASIBLE, _LP_INFEASIBLE = 0, 2


def is_linearly_separable(features: np.ndarray, labels: np.ndarray) -> bool:
    """Decide whether labelled points are strictly separable by a hyperplane through 0.

    Parameters
    ----------
    features : numpy.ndarray, shape (n_data, n_eff)
    labels : numpy.ndarray, shape (n_data,)
        Values in {-1, +1}.

    Returns
    -------
    bool
        True iff :math:`\\{w : y_\\mu\\, w\\cdot x_\\mu \\ge 1\\ \\forall\\mu\\}` is non-empty.

    Raises
    ------
    ValueError
        On inconsistent shapes or labels outside {-1, +1}.
    RuntimeError
        If HiGHS ends neither feasible nor infeasible (numerical trouble).
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise ValueError(
            f"features must have shape (n_data, n_eff) and labels (n_data,); got "
            f"{features.shape} and {labels.shape}"
        )
    if not np.all(np.abs(labels) == 1.0):
        raise ValueError("labels must be -1 or +1")
    n_data, n_eff = features.shape
    result = linprog(
        c=np.zeros(n_eff),
        A_ub=-(labels[:, None] * features),
        b_ub=-np.ones(n_data),
        bounds=(None, None),
        method="highs",
    )
    if result.status not in (_LP_FEASIBLE, _LP_INFEASIBLE):
        raise RuntimeError(f"HiGHS ended with status {result.status}: {result.message}")
    return result.status == _LP_FEASIBLE


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


def cover_grid(scale: str) -> list[dict]:
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
                    "seed": derive_seed(COVER_ROOT_SEED, n_eff, n_data, block),
                })
    return points


COVER_SWEEP = SweepSpec(
    name="cover-separability",
    function=cover_trials,
    version="1",
    grid=cover_grid,
    description="LP separability of Gaussian features with random labels (S1, Cover)",
)
