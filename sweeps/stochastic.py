r"""Sweeps of the stochastic-differential-equation models of SGD (S4, seed 003).

``sme-weak-error``
    SGD on the quadratic test problem :math:`f_\gamma(\theta) = \tfrac12 a(\theta-\gamma)^2`,
    :math:`\gamma\sim N(0,\sigma^2)`, coupled path by path with its first- and second-order
    stochastic modified equations (:func:`jamming.simulate.sde.sme_weak_errors`), one point
    per step size :math:`\eta = T/n` at fixed :math:`T`: the weak errors in
    :math:`\mathbb{E}\theta_T` and :math:`\mathbb{E}\theta_T^2` with their standard errors.
``label-noise-stationary``
    The one-dimensional label-noise SDE :math:`d\theta = 2m_2\theta(\theta_*^2-\theta^2)dt +
    2\sqrt{\eta\delta m_2}\,\theta\,dW` by Euler–Maruyama at two time steps, and label-noise
    SGD with step :math:`\eta` and :math:`x` uniform on :math:`[0.8, 1.2]`
    (:mod:`jamming.simulate.sde`), from :math:`\theta_0 = \theta_*` to time ``T``: the final
    states, samples of the stationary law.
"""

from __future__ import annotations

from jamming.simulate.sde import label_noise_sde_1d, label_noise_sgd_1d, sme_weak_errors
from jamming.sweeps.spec import SweepSpec, derive_seed, shared_root_seed

#: The quadratic test problem: curvature, noise, initial point and the fixed time T.
SME_PROBLEM = {"a": 1.0, "sigma": 1.0, "theta0": 1.0, "T": 1.0}
#: Numbers of SGD steps (eta = T/n) and Euler–Maruyama substeps per SGD step (the
#: Richardson leftover is O((eta/m)^2): 16 substeps for the two largest steps, 8 below).
SME_STEPS = (5, 10, 20, 40, 80, 160)
SME_PATHS = {"quick": 200_000, "paper": 2_000_000, "full": 10_000_000}


def sme_weak_error_point(params: dict) -> dict:
    """Weak errors of SME1 and SME2 against SGD at one step size.

    Parameters
    ----------
    params : dict
        ``a``, ``sigma``, ``theta0``, ``T``, ``n_steps``, ``substeps``, ``n_paths``, ``seed``.

    Returns
    -------
    dict
        ``eta`` and, for ``q`` in (mean, second_moment) and order in (1, 2), ``<q>_<order>``
        (Richardson-extrapolated in dt, SME minus SGD) and ``<q>_<order>_se``.
    """
    errors = sme_weak_errors(float(params["T"]), int(params["n_steps"]), float(params["a"]),
                             float(params["sigma"]), float(params["theta0"]),
                             int(params["n_paths"]), int(params["seed"]),
                             substeps=int(params["substeps"]))
    out = {"eta": float(errors["eta"][0])}
    for q in ("mean", "second_moment"):
        for order in (1, 2):
            for suffix in ("", "_se"):
                out[f"{q}_{order}{suffix}"] = float(errors[f"{q}_{order}{suffix}"][0])
    return out


def sme_weak_error_grid(scale: str, root_seed: int) -> list[dict]:
    """One point per number of steps, with independent seeds."""
    return [{**SME_PROBLEM, "n_steps": n, "substeps": 16 if n <= 10 else 8,
             "n_paths": SME_PATHS[scale], "seed": derive_seed(root_seed, n)} for n in SME_STEPS]


SME_WEAK_ERROR_SWEEP = SweepSpec(
    name="sme-weak-error",
    function=sme_weak_error_point,
    version="1",
    grid=sme_weak_error_grid,
    root_seeds=shared_root_seed(1_917),
    description="weak errors of the first- and second-order SMEs against SGD on a quadratic "
                "(coupled Euler-Maruyama, Richardson in dt) (S4, Li-Tai-E)",
)

#: The 1-D label-noise model: theta_star, E x^2 of the SDE, and the support of x for SGD.
LABEL_NOISE_THETA_STAR = 1.0
LABEL_NOISE_M2 = 1.0
LABEL_NOISE_X_RANGE = (0.8, 1.2)
#: Products eta * delta (the stationary law depends on nothing else; c = theta*^2/(eta delta)
#: = 10, 4, 2), the SGD step, the time T and the two Euler–Maruyama steps (dt and dt/2).
LABEL_NOISE_ETA_DELTA = (0.1, 0.25, 0.5)
LABEL_NOISE_ETA = 0.01
#: The Euler-Maruyama bias of the stationary law is largest at eta delta = 0.5 (c = 2, mass
#: near theta = 0): measured KS distances at T = 32 with 2e5 paths are 0.0068 (dt = 4e-3),
#: 0.0044 (2e-3), 0.0043 (1e-3) and 0.0013 (2.5e-4, the sampling level), so dt is chosen
#: below the KS resolution ~1.6/sqrt(n_paths) of each scale; T = 16 leaves margin for the
#: slow filling of the mass near 0 (at dt = 1e-3, T = 8, 16, 32 gave E theta^2 = 0.5023,
#: 0.4996, 0.4973, standard error 0.0016, against 0.5; the last shift is the dt bias).
LABEL_NOISE_GRIDS = {
    "quick": {"n_paths": 20_000, "T": 16.0, "dt": 1e-3},
    "paper": {"n_paths": 200_000, "T": 16.0, "dt": 2.5e-4},
    "full": {"n_paths": 1_000_000, "T": 16.0, "dt": 6.25e-5},
}


def label_noise_stationary_point(params: dict) -> dict:
    """Final states of the label-noise SDE (time steps dt and dt/2) and of label-noise SGD.

    Parameters
    ----------
    params : dict
        ``theta_star``, ``m2``, ``eta``, ``delta``, ``x_min``, ``x_max``, ``T``, ``dt``,
        ``n_paths``, ``seed``.

    Returns
    -------
    dict
        ``sde`` (n_paths,), ``sde_half`` (n_paths,): Euler–Maruyama with steps dt and dt/2;
        ``sgd`` (n_paths,): label-noise SGD after T/eta steps; ``diverged``: paths that left
        the bound, summed over the three ensembles (frozen and counted, never dropped).
    """
    theta_star, eta, delta = (float(params[k]) for k in ("theta_star", "eta", "delta"))
    n_paths, seed, T, dt = (int(params["n_paths"]), int(params["seed"]), float(params["T"]),
                            float(params["dt"]))
    runs = {
        "sde": label_noise_sde_1d(theta_star, eta, delta, float(params["m2"]), theta_star, dt,
                                  int(round(T / dt)), n_paths, seed),
        "sde_half": label_noise_sde_1d(theta_star, eta, delta, float(params["m2"]), theta_star,
                                       dt / 2, int(round(2 * T / dt)), n_paths, seed + 1),
        "sgd": label_noise_sgd_1d(theta_star, eta, delta, float(params["x_min"]),
                                  float(params["x_max"]), theta_star, int(round(T / eta)),
                                  n_paths, seed + 2),
    }
    out = {name: run.theta for name, run in runs.items()}
    out["diverged"] = int(sum(run.n_diverged for run in runs.values()))
    return out


def label_noise_stationary_grid(scale: str, root_seed: int) -> list[dict]:
    """One point per eta * delta."""
    grid = LABEL_NOISE_GRIDS[scale]
    x_min, x_max = LABEL_NOISE_X_RANGE
    return [{"theta_star": LABEL_NOISE_THETA_STAR, "m2": LABEL_NOISE_M2,
             "eta": LABEL_NOISE_ETA, "delta": product / LABEL_NOISE_ETA,
             "x_min": x_min, "x_max": x_max, **grid,
             "seed": derive_seed(root_seed, round(1000 * product))}
            for product in LABEL_NOISE_ETA_DELTA]


LABEL_NOISE_STATIONARY_SWEEP = SweepSpec(
    name="label-noise-stationary",
    function=label_noise_stationary_point,
    version="1",
    grid=label_noise_stationary_grid,
    root_seeds=shared_root_seed(1_906),
    description="stationary samples of the 1-D label-noise SDE (Euler-Maruyama) and of "
                "label-noise SGD (S4, Fokker-Planck)",
)
