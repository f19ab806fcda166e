"""Sweeps of the exact quadratic-hinge solver on Gaussian features with random labels (S1).

One sweep point is a batch of independent problems at one ``(n_eff, alpha)``, solved together
by :func:`jamming.simulate.hinge.solve_quadratic_hinge` on the requested device. Recorded per
problem: the minimum loss, N_Delta, ||w||^2, the SAT flag, the KKT residual, and the lowest
eigenvalue of the loss Hessian restricted to the unsatisfied points,
``Phi_Delta^T Phi_Delta / n_eff`` (the non-zero spectrum of the Gram matrix of the unsatisfied
points), for the soft-mode hypothesis.
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.data import gaussian_features, random_labels
from jamming.sweeps.spec import SweepSpec, derive_seed, shared_root_seed


def hinge_gaussian_trials(params: dict, device: str = "cpu") -> dict:
    """Solve ``batch`` random-label problems at one ``(n_eff, alpha)`` exactly.

    Parameters
    ----------
    params : dict
        ``n_eff``, ``alpha`` (``n_data = round(alpha * n_eff)``), ``batch``, ``seed``.
    device : {"cpu", "cuda"}

    Returns
    -------
    dict
        Arrays of shape (batch,): ``loss``, ``n_delta``, ``w_norm_sq``, ``sat``,
        ``kkt_residual``, ``iterations``, ``hessian_min``; and the scalar ``n_data``.
    """
    from jamming.simulate.hinge import solve_quadratic_hinge, unsatisfied_hessian_minimum

    rng = np.random.default_rng(params["seed"])
    n_eff = params["n_eff"]
    n_data = round(params["alpha"] * n_eff)
    features = np.stack([gaussian_features(n_data, n_eff, rng) for _ in range(params["batch"])])
    labels = np.stack([random_labels(n_data, rng) for _ in range(params["batch"])])
    solution = solve_quadratic_hinge(features, labels, device=device)
    if not np.all(solution.converged):  # the point fails loudly rather than store a guess
        raise RuntimeError(f"the solver did not converge (certified) on problems "
                           f"{np.flatnonzero(~np.asarray(solution.converged)).tolist()}")
    hessian_min = [
        unsatisfied_hessian_minimum(features[b], np.asarray(solution.active[b]))
        for b in range(params["batch"])
    ]
    return {
        "n_data": n_data,
        "loss": np.asarray(solution.loss, dtype=float),
        "n_delta": np.asarray(solution.n_delta, dtype=np.int64),
        "w_norm_sq": np.sum(np.asarray(solution.w) ** 2, axis=-1),
        "sat": np.asarray(solution.sat, dtype=bool),
        "kkt_residual": np.asarray(solution.kkt_residual, dtype=float),
        "iterations": np.asarray(solution.iterations, dtype=np.int64),
        "hessian_min": np.array(hessian_min),
    }


#: Sizes, loads and problems per point of the hinge sweep. Loads below 2.1 are for the jump
#: at the transition (mixed SAT/UNSAT at finite size); the UNSAT branch uses alpha >= 2.2.
HINGE_GRIDS = {
    "quick": {"n_effs": (40, 80), "alphas": (1.9, 2.1, 2.2, 2.5, 3.0, 4.0, 6.0), "batch": 8},
    "paper": {"n_effs": (125, 250, 500, 1000),
              "alphas": (1.8, 1.9, 1.95, 2.05, 2.1, 2.2, 2.3, 2.5, 2.75, 3.0, 3.5, 4.0, 5.0, 6.0),
              "batch": 16},
    "full": {"n_effs": (125, 250, 500, 1000, 2000),
             "alphas": (1.8, 1.9, 1.95, 2.05, 2.1, 2.2, 2.3, 2.5, 2.75, 3.0, 3.5, 4.0, 5.0, 6.0),
             "batch": 64},
}


def hinge_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of the hinge sweep (one batch of problems per ``(n_eff, alpha)``)."""
    grid = HINGE_GRIDS[scale]
    return [
        {"n_eff": n_eff, "alpha": alpha, "batch": grid["batch"],
         "seed": derive_seed(root_seed, n_eff, round(1000 * alpha))}
        for n_eff in grid["n_effs"] for alpha in grid["alphas"]
    ]


HINGE_GAUSSIAN_SWEEP = SweepSpec(
    name="hinge-gaussian",
    function=hinge_gaussian_trials,
    version="1",
    grid=hinge_grid,
    root_seeds=shared_root_seed(16_180),
    description="exact quadratic-hinge minima, Gaussian features, random labels (S1)",
    uses_device=True,
)
