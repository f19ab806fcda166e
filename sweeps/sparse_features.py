r"""Sweeps of the sparse features that large steps bring (S4, Andriushchenko et al. 2023).

``diagonal-sparse-features``
    SGD (batch size 1) on diagonal linear networks (:mod:`jamming.simulate.diagonal`) with a
    small constant step, or a large step decayed to the small one after 10, 30 or 50 % of
    the steps: curves of the train loss, test error, Jacobian rank and feature sparsity.
``relu1d-sparse-features``
    Two-layer ReLU networks on the authors' 12-point 1-D regression
    (:mod:`jamming.simulate.relu1d`), small steps against a large step decayed after half
    of the steps: loss, Jacobian rank, feature sparsity, kinks.

Within a seed both schedules share the data, the initialisation and the sample sequence, so
the claim compares them in pairs.
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.diagonal import (
    record_steps,
    sparse_regression_data,
    step_schedule,
    train_diagonal,
)
from jamming.simulate.relu1d import train_relu1d
from jamming.sweeps.spec import SweepSpec, derive_seed, shared_root_seed

#: Schedules of the sparse-features sweep: None = constant small step, else decay fraction.
SCHEDULES = {"small": None, "large-10": 0.1, "large-30": 0.3, "large-50": 0.5}


def sparse_features_point(params: dict) -> dict:
    r"""SGD (batch size 1) with a small constant step or a large step decayed to the small one.

    Parameters
    ----------
    params : dict
        ``n``, ``d``, ``r``, ``seed`` (data and SGD seed), ``alpha``, ``schedule`` (a key of
        :data:`SCHEDULES`), ``eta_small``, ``eta_large``, ``n_steps``, ``record_every``.

    Returns
    -------
    dict
        Curves at ``steps`` (n_rec,) with n_rec = n_steps // record_every + 1, NaN (or -1
        for integers) after a divergence: ``train_loss``, ``test_error`` (population
        :math:`\tfrac12\lVert\beta-\beta^*\rVert^2`), ``jacobian_rank``,
        ``feature_sparsity``, ``eta`` (step used at each recorded step's next step);
        final scalars ``final_train_loss``, ``final_test_error``, ``final_beta_error``,
        ``final_jacobian_rank``, ``final_feature_sparsity``, ``final_false_positives``,
        ``final_false_negatives``, ``large_phase_loss`` (median train loss over the recorded
        steps of the large-step phase, NaN for "small"), ``diverged``, ``diverged_at``; and
        ``beta`` (d,), ``beta_star`` (d,).
    """
    n, d, r = int(params["n"]), int(params["d"]), int(params["r"])
    seed, n_steps = int(params["seed"]), int(params["n_steps"])
    data = sparse_regression_data(n, d, r, seed)
    X, y, beta_star = data["X"], data["y"], data["beta_star"]
    decay = SCHEDULES[params["schedule"]]
    eta_small = float(params["eta_small"])
    if decay is None:
        etas = np.full(n_steps, eta_small)
    else:
        etas = step_schedule(float(params["eta_large"]), n_steps, decay_at=decay,
                             eta_after=eta_small)
    every = int(params["record_every"])
    run = train_diagonal(X, y, float(params["alpha"]), etas, n_steps, batch_size=1,
                         seed=seed, record_every=every, beta_star=beta_star)
    steps = record_steps(n_steps, every)
    k = run.steps.size
    out = {"steps": steps, "eta": np.append(etas, etas[-1] if n_steps else np.nan)[steps]}
    for key in ("train_loss", "test_error", "feature_sparsity"):
        out[key] = np.concatenate([run.records[key], np.full(steps.size - k, np.nan)])
    out["jacobian_rank"] = np.concatenate([run.records["jacobian_rank"],
                                           np.full(steps.size - k, -1)]).astype(np.int64)
    for key in ("train_loss", "test_error", "beta_error", "jacobian_rank", "feature_sparsity",
                "false_positives", "false_negatives"):
        out["final_" + key] = run.final[key]
    large = steps[:k] < (round(decay * n_steps) if decay is not None else 0)
    large[0] = False  # step 0 is the initialisation
    out["large_phase_loss"] = (float(np.median(run.records["train_loss"][large]))
                               if large.any() else float("nan"))
    out.update(diverged=run.diverged, diverged_at=run.diverged_at, beta=run.beta,
               beta_star=beta_star)
    return out


#: Seeds, steps and step sizes of the sparse-features sweep per scale (alpha = 0.1,
#: n, d, r = 80, 200, 20). Measured on 5 data sets: batch-1 SGD converges fast for
#: eta <= 0.021, stabilises the loss at ~0.1-3 for eta in [0.022, 0.026] (the window's
#: ends depend on the data set) and diverges above; 0.022 diverged on none of 10 data sets,
#: 0.024 on 2 to 5 of 10 (more for longer large-step phases).
SPARSE_FEATURES_GRIDS = {
    "quick": {"seeds": (0, 1), "n_steps": 20_000, "etas_large": (0.022,), "record_every": 1000},
    "paper": {"seeds": tuple(range(10)), "n_steps": 200_000, "etas_large": (0.022, 0.023),
              "record_every": 4000},
    "full": {"seeds": tuple(range(30)), "n_steps": 400_000,
             "etas_large": (0.021, 0.022, 0.023, 0.024),
             "record_every": 4000},
}


def sparse_features_grid(scale: str, root_seed: int) -> list[dict]:
    """Points: seeds x (small step, and each large step decayed at 10 / 30 / 50 %)."""
    g = SPARSE_FEATURES_GRIDS[scale]
    points = []
    for s in g["seeds"]:
        base = {"n": 80, "d": 200, "r": 20, "alpha": 0.1, "eta_small": 0.0022,
                "n_steps": g["n_steps"], "record_every": g["record_every"],
                "seed": derive_seed(root_seed, s)}
        points.append({**base, "schedule": "small", "eta_large": 0.0022})
        points += [{**base, "schedule": name, "eta_large": eta}
                   for eta in g["etas_large"] for name in SCHEDULES if name != "small"]
    return points


SPARSE_FEATURES_SWEEP = SweepSpec(
    name="diagonal-sparse-features",
    function=sparse_features_point,
    version="1",
    grid=sparse_features_grid,
    root_seeds=shared_root_seed(2023),
    description="SGD on diagonal linear nets: small step vs large step decayed at 10/30/50 % "
                "(Andriushchenko et al. 2023)",
)


#: Root seed of :data:`!RELU_SPARSE_FEATURES_SWEEP`; seed index ``s`` gives the same
#: initialisation and sample sequence to both schedules (paired comparison).
RELU1D_ROOT_SEED = 2023_10_03


#: The setup of the sweep (module docstring): the authors' 12 points, width 100, batch 1,
#: small step 3e-3; large step 0.03 (chosen on pilot seeds 100-105, not the sweep's, as the
#: smallest of 0.02, 0.03, 0.05, 0.08 whose loss stabilises over the second half of the
#: large-step phase: relative std < 0.3 and mean > 10x the small-step loss there, no
#: divergence), decayed to 3e-3 after half of the steps.
RELU1D_BASE = {"target": "paper", "n": 12, "m": 100, "batch_size": 1, "eta_small": 3e-3,
               "decay_fraction": 0.5}


#: Seeds, steps, recording interval and large steps of the ReLU sweep per scale.
RELU1D_GRIDS = {
    "quick": {"seeds": 2, "n_steps": 20_000, "record_every": 2_000, "eta_large": (0.03,)},
    "paper": {"seeds": 8, "n_steps": 1_000_000, "record_every": 20_000, "eta_large": (0.03,)},
    "full": {"seeds": 32, "n_steps": 2_000_000, "record_every": 20_000,
             "eta_large": (0.03, 0.05)},
}


def relu1d_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of :data:`!RELU_SPARSE_FEATURES_SWEEP`: seeds x (small, large + decay)."""
    grid = RELU1D_GRIDS[scale]
    points = []
    for s in range(grid["seeds"]):
        common = {**RELU1D_BASE, "n_steps": grid["n_steps"],
                  "record_every": grid["record_every"],
                  "seed": derive_seed(root_seed, s)}
        points.append({**common, "schedule": "small", "eta_large": RELU1D_BASE["eta_small"]})
        points.extend({**common, "schedule": "large", "eta_large": eta}
                      for eta in grid["eta_large"])
    return points


def relu1d_point(params: dict) -> dict:
    """Sweep function: :func:`.train_relu1d` with the default backend."""
    return train_relu1d(params)


RELU_SPARSE_FEATURES_SWEEP = SweepSpec(
    name="relu1d-sparse-features",
    function=relu1d_point,
    version="1",
    grid=relu1d_grid,
    root_seeds=shared_root_seed(RELU1D_ROOT_SEED),
    description="two-layer ReLU nets on 1-D regression: small steps vs large steps + decay; "
                "loss, Jacobian rank, feature sparsity, kinks (S4, Andriushchenko et al.)",
)
