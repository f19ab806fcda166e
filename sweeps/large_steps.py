r"""Sweeps of the large-step map and of one-dimensional SGD (S4, seed 003).

``stabilization-map``
    Orbits of the deterministic map :math:`h_\gamma(z) = z + \gamma z(1-z^2)` on a grid of
    :math:`\gamma`, from initial points drawn uniformly on :math:`(0.05, 1.15)`: the last two
    states of every orbit (to compare with the 2-cycle) and the tail of a few orbits (the
    bifurcation diagram).
``sgd-bounce``
    SGD on the quadratic parametrisation :math:`y = x\theta_*^2` with :math:`x` uniform on
    :math:`[x_\mathrm{min}, x_\mathrm{max}]` (:func:`jamming.simulate.maps.sgd_1d`), for step
    sizes inside and outside the loss-stabilisation interval, from :math:`\theta_0` uniform
    on :math:`[0.1, 0.9]\,\theta_*`: ensemble counts of the crossings of :math:`\theta_*`,
    the extremes of the loss after a burn-in, convergence and divergence.
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.maps import iterate_map, sgd_1d
from jamming.sweeps.spec import SweepSpec, derive_seed, shared_root_seed

#: Range of the initial points of the map's orbits.
MAP_Z0_RANGE = (0.05, 1.15)
#: Orbits whose tail is kept for the bifurcation diagram, and the tail's length.
MAP_TAIL_ORBITS = 8
MAP_TAIL_LENGTH = 32
#: Final states kept for every orbit.
MAP_LAST_STATES = 8

#: The one-dimensional SGD problem: theta_star and the support of x (x_max^2 < 1.25 x_min^2).
SGD_THETA_STAR = 1.0
SGD_X_RANGE = (1.0, 1.1)
#: Initial parameters are uniform on this multiple of theta_star.
SGD_THETA0_RANGE = (0.1, 0.9)
#: Trajectories whose first steps are recorded for the figure.
SGD_EXAMPLE_ORBITS = 4
SGD_EXAMPLE_STEPS = 60
#: ``|theta - theta_star|`` below which a trajectory counts as converged.
SGD_CONVERGED_TOL = 1e-8


def map_orbits(params: dict) -> dict:
    """Orbits of :math:`h_\\gamma` for one :math:`\\gamma`.

    Parameters
    ----------
    params : dict
        ``gamma`` (> 0), ``n_traj``, ``n_steps`` (>= ``MAP_TAIL_LENGTH``), ``seed``.

    Returns
    -------
    dict
        ``last_states`` (n_traj, 8): the states at steps ``n_steps - 7`` to ``n_steps``
        (``inf``/``nan`` for escaping orbits); ``tail`` (min(n_traj, 8), 32): the last 32
        states of the first orbits; ``z0`` (n_traj,).
    """
    n_traj, n_steps = int(params["n_traj"]), int(params["n_steps"])
    if n_steps < MAP_TAIL_LENGTH:
        raise ValueError(f"n_steps must be >= {MAP_TAIL_LENGTH}; got {n_steps}")
    z0 = np.random.default_rng(params["seed"]).uniform(*MAP_Z0_RANGE, n_traj)
    orbit = iterate_map(np.full(n_traj, float(params["gamma"])), z0, n_steps,
                        record_every=1, record_start=n_steps - MAP_TAIL_LENGTH + 1)
    return {"last_states": orbit.recorded[:, -MAP_LAST_STATES:].copy(),
            "tail": orbit.recorded[:MAP_TAIL_ORBITS].copy(), "z0": z0}


#: Normalised steps of the map sweep per scale: a fine grid over (0.8, 2.2) and the number
#: of orbits and steps per gamma.
MAP_GRIDS = {
    "quick": {"gammas": np.round(np.linspace(0.8, 2.2, 57), 6), "n_traj": 64, "n_steps": 12_000},
    "paper": {"gammas": np.round(np.linspace(0.8, 2.2, 281), 6), "n_traj": 512,
              "n_steps": 20_000},
    "full": {"gammas": np.round(np.linspace(0.8, 2.2, 1401), 6), "n_traj": 4096,
             "n_steps": 40_000},
}


def map_grid(scale: str, root_seed: int) -> list[dict]:
    """One point per gamma, seeds derived from (gamma in 1e-6 units)."""
    grid = MAP_GRIDS[scale]
    return [{"gamma": float(g), "n_traj": grid["n_traj"], "n_steps": grid["n_steps"],
             "seed": derive_seed(root_seed, round(1e6 * g))} for g in grid["gammas"]]


MAP_SWEEP = SweepSpec(
    name="stabilization-map",
    function=map_orbits,
    version="2",
    grid=map_grid,
    root_seeds=shared_root_seed(2_718),
    description="orbits of the normalised large-step map z + gamma z (1 - z^2) (S4, seed 003)",
)


def sgd_bounce(params: dict) -> dict:
    """Ensemble statistics of 1-D SGD at one step size (see the module docstring).

    Parameters
    ----------
    params : dict
        ``eta``, ``n_traj``, ``n_steps``, ``burn_in``, ``seed``.

    Returns
    -------
    dict
        Scalars over the ensemble: ``crossing_shortfall`` (number of trajectories that did
        not cross theta_star at every step after ``burn_in``), ``min_crossings``,
        ``loss_min`` and ``loss_max`` (extremes of the population loss after the burn-in,
        non-diverged trajectories), ``loss_mean``, ``n_diverged``, ``n_converged``
        (``|theta - theta_star| < 1e-8`` at the end); arrays ``examples`` (4, 61): the first
        steps of four trajectories; ``final_theta`` (min(n_traj, 20000),) final parameters.
    """
    n_traj, n_steps, burn_in = int(params["n_traj"]), int(params["n_steps"]), int(params["burn_in"])
    eta, seed = float(params["eta"]), int(params["seed"])
    rng = np.random.default_rng(seed)
    theta0 = SGD_THETA_STAR * rng.uniform(*SGD_THETA0_RANGE, n_traj)
    result = sgd_1d(SGD_THETA_STAR, eta, *SGD_X_RANGE, theta0, n_steps, seed, n_traj,
                    burn_in=burn_in)
    examples = sgd_1d(SGD_THETA_STAR, eta, *SGD_X_RANGE, theta0[:SGD_EXAMPLE_ORBITS],
                      SGD_EXAMPLE_STEPS, seed, SGD_EXAMPLE_ORBITS, burn_in=0, record_every=1)
    alive = ~result.diverged
    with np.errstate(invalid="ignore"):
        loss_mean = float(np.mean(result.loss_mean[alive])) if alive.any() else float("nan")
    return {
        "crossing_shortfall": int(np.count_nonzero(alive & (result.crossings
                                                            < n_steps - burn_in))),
        "min_crossings": int(result.crossings[alive].min()) if alive.any() else -1,
        "loss_min": float(result.loss_min[alive].min()) if alive.any() else float("nan"),
        "loss_max": float(result.loss_max[alive].max()) if alive.any() else float("nan"),
        "loss_mean": loss_mean,
        "n_diverged": result.n_diverged,
        "n_converged": int(np.count_nonzero(
            alive & (np.abs(result.theta - SGD_THETA_STAR) < SGD_CONVERGED_TOL))),
        "examples": examples.recorded,
        "final_theta": result.theta[:20_000].copy(),
    }


#: Step sizes of the SGD sweep: three inside ((theta* x_min)^-2, 1.25 (theta* x_max)^-2) =
#: (1, 1.0331), one below (theta* x_max)^-2 (all gamma < 1), one with every gamma > 2, and
#: three in between (no prediction).
SGD_ETAS = (0.8, 1.01, 1.02, 1.03, 1.1, 1.3, 1.6, 2.1)
SGD_GRIDS = {
    "quick": {"n_traj": 10_000, "n_steps": 8_000, "burn_in": 4_000},
    "paper": {"n_traj": 1_000_000, "n_steps": 8_000, "burn_in": 4_000},
    "full": {"n_traj": 10_000_000, "n_steps": 8_000, "burn_in": 4_000},
}


def sgd_bounce_grid(scale: str, root_seed: int) -> list[dict]:
    """One point per step size."""
    grid = SGD_GRIDS[scale]
    return [{"eta": eta, **grid, "seed": derive_seed(root_seed, round(1e4 * eta))}
            for eta in SGD_ETAS]


SGD_BOUNCE_SWEEP = SweepSpec(
    name="sgd-bounce",
    function=sgd_bounce,
    version="1",
    grid=sgd_bounce_grid,
    root_seeds=shared_root_seed(1_618),
    description="1-D SGD ensembles inside and outside the loss-stabilisation step sizes "
                "(S4, seed 003)",
)
