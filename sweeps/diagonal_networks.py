r"""Sweeps of diagonal linear networks :math:`\beta = u\odot u - v\odot v` (S4).

``diagonal-woodworth``
    Gradient descent from :math:`u = v = \alpha` to interpolation, at two steps for a
    Richardson extrapolation to gradient flow: the end point against the :math:`Q_\alpha`
    interpolator of Woodworth et al. (2020).
``diagonal-label-noise``
    Label-noise gradient descent: the time average of :math:`\beta` against the weighted
    Lasso of Pillaud-Vivien et al. (2022).

The simulator is :mod:`jamming.simulate.diagonal`.
"""

from __future__ import annotations

import math

import numpy as np

from jamming.simulate.diagonal import gd_step_size, sparse_regression_data, train_diagonal
from jamming.sweeps.spec import SweepSpec, derive_seed, shared_root_seed


def woodworth_point(params: dict) -> dict:
    r"""Gradient descent from :math:`u = v = \alpha` to (near) interpolation, one data set.

    Parameters
    ----------
    params : dict
        ``n``, ``d``, ``r`` (data sizes, :func:`.sparse_regression_data`), ``alpha``,
        ``seed`` (data seed), ``eta_factor`` (step as a fraction of the stability bound,
        :func:`.gd_step_size` with ``beta_scale = 2 max|beta*|``), ``max_steps``,
        ``stop_loss`` (stop once the train loss is below it), ``check_every`` (how often
        the loss is checked).

    Two runs, with steps ``eta`` and ``eta / 2``: the limit of GD differs from that of
    gradient flow (the Q_alpha interpolator) by O(eta) (measured: the relative difference
    halves with eta, ~1e-3 at ``eta_factor = 0.25``), so the Richardson extrapolation
    ``2 beta(eta/2) - beta(eta)`` removes the first-order term.

    Returns
    -------
    dict
        ``beta``, ``beta_half`` (d,): final predictors with steps eta and eta/2;
        ``beta_extrapolated`` (d,) = ``2 beta_half - beta``; ``X`` (n, d), ``y`` (n,),
        ``beta_star`` (d,) the data; ``eta`` the larger step; ``steps`` (2,) steps taken;
        ``train_loss`` (2,) final :math:`\tfrac1{2n}\lVert X\beta-y\rVert^2`;
        ``converged`` (both train losses <= stop_loss); ``diverged`` (either run);
        ``diverged_at`` (2,) (-1 if not).
    """
    data = sparse_regression_data(int(params["n"]), int(params["d"]), int(params["r"]),
                                  int(params["seed"]))
    X, y, beta_star = data["X"], data["y"], data["beta_star"]
    alpha = float(params["alpha"])
    eta = gd_step_size(X, alpha, 2.0 * float(np.max(np.abs(beta_star))),
                       float(params["eta_factor"]))
    runs = [train_diagonal(X, y, alpha, step, int(params["max_steps"]),
                           record_every=int(params["check_every"]),
                           stop_loss=float(params["stop_loss"]))
            for step in (eta, eta / 2)]
    stop = float(params["stop_loss"])
    return {"beta": runs[0].beta, "beta_half": runs[1].beta,
            "beta_extrapolated": 2.0 * runs[1].beta - runs[0].beta,
            "X": X, "y": y, "beta_star": beta_star, "eta": eta,
            "steps": np.array([r.steps_done for r in runs], dtype=np.int64),
            "train_loss": np.array([r.final["train_loss"] for r in runs]),
            "converged": bool(all(r.final["train_loss"] <= stop for r in runs)),
            "diverged": bool(any(r.diverged for r in runs)),
            "diverged_at": np.array([r.diverged_at for r in runs], dtype=np.int64)}


#: alphas, data sizes, seeds and step budgets of the Woodworth sweep per scale.
WOODWORTH_GRIDS = {
    "quick": {"alphas": (1e-3, 1e-1, 1e1), "n": 20, "d": 50, "r": 5, "seeds": (0,),
              "max_steps": 1_000_000},
    "paper": {"alphas": tuple(10.0 ** np.arange(-3.0, 2.01, 0.5)), "n": 40, "d": 100,
              "r": 10, "seeds": (0, 1, 2), "max_steps": 2_000_000},
    "full": {"alphas": tuple(10.0 ** np.arange(-3.0, 2.01, 0.25)), "n": 80, "d": 200,
             "r": 20, "seeds": (0, 1, 2, 3, 4), "max_steps": 3_000_000},
}


def woodworth_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of the Woodworth sweep: one data set per seed, every alpha on it."""
    g = WOODWORTH_GRIDS[scale]
    return [{"n": g["n"], "d": g["d"], "r": g["r"], "alpha": float(alpha),
             "seed": derive_seed(root_seed, g["n"], g["d"], g["r"], s), "eta_factor": 0.25,
             "max_steps": g["max_steps"], "stop_loss": 1e-14, "check_every": 1000}
            for s in g["seeds"] for alpha in g["alphas"]]


WOODWORTH_SWEEP = SweepSpec(
    name="diagonal-woodworth",
    function=woodworth_point,
    version="1",
    grid=woodworth_grid,
    root_seeds=shared_root_seed(20_020),
    description="GD on diagonal linear nets from u = v = alpha to interpolation: final beta "
                "vs the Q_alpha interpolator (Woodworth et al. 2020)",
)


def label_noise_point(params: dict) -> dict:
    r"""Label-noise gradient descent on one data set, several noise seeds.

    Full-batch GD with step ``eta`` on labels :math:`y + \sigma\xi_t` (fresh
    :math:`\xi_t\sim N(0, I_n)` every step), from :math:`u = v = \alpha`, for ``n_steps``
    steps; :math:`\beta_t` is averaged over the second half (``average_from = n_steps // 2``).

    Parameters
    ----------
    params : dict
        ``n``, ``d``, ``r``, ``data_seed`` (:func:`.sparse_regression_data`), ``alpha``,
        ``eta``, ``sigma``, ``n_steps``, ``n_runs`` (noise seeds), ``seed`` (root of the
        noise seeds ``derive_seed(seed, k)``).

    Returns
    -------
    dict
        ``beta_avg`` (n_runs, d) time-averaged predictors; ``beta_final`` (n_runs, d);
        ``X`` (n, d), ``y`` (n,), ``beta_star`` (d,); ``lam`` :math:`=\eta\sigma^2/n`;
        ``lam_j`` (d,) :math:`=\eta\sigma^2\lVert X_{:,j}\rVert^2/n^2`; ``time``
        :math:`=\eta\,\text{n\_steps}`; ``train_loss_final`` and ``train_loss_avg``
        (n_runs,): noiseless train loss of the final and of the averaged predictor;
        ``diverged`` (n_runs,) bool, ``diverged_at`` (n_runs,) int (-1 if not).
    """
    n, d = int(params["n"]), int(params["d"])
    data = sparse_regression_data(n, d, int(params["r"]), int(params["data_seed"]))
    X, y, beta_star = data["X"], data["y"], data["beta_star"]
    eta, sigma = float(params["eta"]), float(params["sigma"])
    n_steps = int(params["n_steps"])
    runs = [train_diagonal(X, y, float(params["alpha"]), eta, n_steps,
                           label_noise_std=sigma, seed=derive_seed(int(params["seed"]), k),
                           average_from=n_steps // 2)
            for k in range(int(params["n_runs"]))]

    def loss(beta):
        res = X @ beta - y
        return float(res @ res) / (2 * n)

    return {"beta_avg": np.stack([r.beta_avg for r in runs]),
            "beta_final": np.stack([r.beta for r in runs]),
            "X": X, "y": y, "beta_star": beta_star,
            "lam": eta * sigma**2 / n, "lam_j": eta * sigma**2 * np.sum(X * X, axis=0) / n**2,
            "time": eta * n_steps,
            "train_loss_final": np.array([r.final["train_loss"] for r in runs]),
            "train_loss_avg": np.array([loss(r.beta_avg) for r in runs]),
            "diverged": np.array([r.diverged for r in runs]),
            "diverged_at": np.array([r.diverged_at for r in runs], dtype=np.int64)}


#: (lambda, eta) pairs, sizes, time and runs of the label-noise sweep per scale;
#: sigma = sqrt(lambda n / eta), so pairs with one lambda share the first-order Lasso.
LABEL_NOISE_GRIDS = {
    "quick": {"n": 20, "d": 50, "r": 3, "lams": (0.05,), "etas": (0.01, 0.02, 0.04),
              "time": 400.0, "n_runs": 4},
    "paper": {"n": 80, "d": 200, "r": 20, "lams": (0.01, 0.03, 0.1), "etas": (0.01, 0.02, 0.04),
              "time": None, "n_runs": 4},
    "full": {"n": 80, "d": 200, "r": 20, "lams": (0.003, 0.01, 0.03, 0.1, 0.3),
             "etas": (0.005, 0.01, 0.02, 0.04), "time": None, "n_runs": 8},
}


def label_noise_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of the label-noise sweep: one data set, (lambda, eta) pairs.

    The run length in time :math:`\\eta\\cdot\\text{steps}` is ``time`` or, when ``None``,
    :math:`\\max(20/\\lambda, 1000)` (the off-support features decay like
    :math:`e^{-4(\\lambda_j - |g_j|)t}`, so the average over the second half starts after
    :math:`4\\lambda t = 40` for the coordinates far from activation; the floor of 1000
    keeps the fluctuation of the time average at the per-cent level: measured relative
    spread between noise seeds ~0.5 % at lambda = 0.01, ~5 % at lambda = 0.1 with T = 200).
    """
    g = LABEL_NOISE_GRIDS[scale]
    points = []
    for lam in g["lams"]:
        for eta in g["etas"]:
            time = g["time"] if g["time"] is not None else max(20.0 / lam, 1000.0)
            points.append({"n": g["n"], "d": g["d"], "r": g["r"],
                           "data_seed": derive_seed(root_seed, g["n"], g["d"], g["r"]),
                           "alpha": 0.1, "eta": eta, "sigma": math.sqrt(lam * g["n"] / eta),
                           "n_steps": int(round(time / eta)), "n_runs": g["n_runs"],
                           "seed": derive_seed(root_seed, round(lam * 1e6), round(eta * 1e6))})
    return points


LABEL_NOISE_SWEEP = SweepSpec(
    name="diagonal-label-noise",
    function=label_noise_point,
    version="1",
    grid=label_noise_grid,
    root_seeds=shared_root_seed(2022),
    description="label-noise GD on diagonal linear nets: time-averaged beta vs the weighted "
                "Lasso (Pillaud-Vivien et al. 2022)",
)
