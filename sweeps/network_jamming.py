"""Sweeps of fully connected networks trained to a certificate on random labels (S2).

Every point trains ``instances`` networks of one architecture (one batched call of
:func:`jamming.simulate.network_jamming.train_to_certificate`) on ``n_data`` inputs on the
sphere of radius sqrt(d), shared, with independent random +-1 labels and initialisations per
network, on the quadratic hinge ``1/2 sum (1 - y F)_+^2``.

``network-jump``
    The network's own output (no output scale), depth 1-3, tanh (smooth) and ReLU, the load
    ``n_data / N`` (N the number of weights) scanned across the transition: the
    Spigler-Geiger jump of N_Delta/N (claim ``S2.network-jump``).
``lazy-limit``
    The output scale of Geiger et al. (``alpha (f - f_0)``, loss / alpha^2), one-hidden-layer
    tanh networks, alpha on a log grid, the load ``n_data / rank J(w_0)`` scanned across 2;
    each instance is also solved as its linearisation, the quadratic hinge on the features
    J(w_0) (:func:`jamming.simulate.hinge.solve_quadratic_hinge`), the alpha -> infinity
    limit (claim ``S2.lazy-limit``).

Recorded per network (arrays of length ``instances``): ``outcome`` (index into
:data:`jamming.simulate.network_jamming.STATUSES`), ``sat``, ``certified``, ``loss``,
``n_delta``, ``margin``, ``iterations``, ``gradient_norm``, ``gradient_bound``,
``gradient_scale``, ``hessian_min`` (smallest Hessian eigenvalue), ``hessian_bound``,
``n_negative`` (Hessian eigenvalues below minus the bound), ``rank`` (J at the end, all
points), ``rank_initial`` (J(w_0)), ``rank_active`` (active rows at the end),
``weight_growth`` (``|w| / |w_0|``) and the Hessian spectra ``hessian_eigenvalues``
(instances, N); with ``linear``: ``linear_sat``,
``linear_n_delta``, ``linear_loss``, ``linear_converged``. Scalar: ``n_weights``.
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.networks import DenseNetwork
from jamming.sweeps.spec import SweepSpec, derive_seed

#: Largest Levenberg-Marquardt iterations per network; near-lazy points (alpha >= 1e3) get
#: LAZY_MAX_ITERATIONS: exploratory runs left one SAT network of 8 at alpha = 1e5 next to
#: Cover's transition uncertified after 200, while feature-regime networks that run off to
#: large weights use up any budget (so a larger one there only costs time).
MAX_ITERATIONS = 200
LAZY_MAX_ITERATIONS = 1000


def network_jamming_trials(params: dict, device: str = "cpu") -> dict:
    """Train the ``instances`` networks of one point to their certificates.

    Parameters
    ----------
    params : dict
        ``input_dim``, ``depth``, ``width``, ``activation``, ``alpha`` (None: no output
        scale), ``n_data``, ``instances``, ``linear`` (also solve the linearisation),
        ``max_iterations`` and ``seed``.
    device : str
        "cpu" or "cuda".

    Returns
    -------
    dict
        The fields of the module docstring.
    """
    from jamming.simulate.features import sphere_inputs
    from jamming.simulate.network_jamming import STATUSES, train_to_certificate
    from jamming.simulate.networks import init_networks, jacobian

    rng = np.random.default_rng(params["seed"])
    n_data, instances = params["n_data"], params["instances"]
    inputs = sphere_inputs(n_data, params["input_dim"], rng)
    labels = rng.choice([-1.0, 1.0], size=(instances, n_data))
    network = DenseNetwork(params["input_dim"], params["width"], depth=params["depth"],
                           activation=params["activation"])
    initial = init_networks(network, int(rng.integers(2**31)), instances, device=device)
    result = train_to_certificate(network, initial, inputs, labels, alpha=params["alpha"],
                                  max_iterations=params["max_iterations"], device=device)
    eigenvalues = result.hessian_eigenvalues
    out = {"n_weights": network.n_parameters,
           "outcome": np.array([STATUSES.index(s) for s in result.status]),
           "hessian_min": eigenvalues[:, 0], "hessian_eigenvalues": eigenvalues,
           "n_negative": (eigenvalues < -result.hessian_bound[:, None]).sum(axis=1)}
    for name in ("sat", "certified", "loss", "n_delta", "margin", "iterations",
                 "gradient_norm", "gradient_bound", "gradient_scale", "hessian_bound", "rank",
                 "rank_initial",
                 "rank_active", "weight_growth"):
        out[name] = np.asarray(getattr(result, name))
    if params["linear"]:
        from jamming.simulate.hinge import solve_quadratic_hinge

        features = jacobian(network, initial, inputs, to_numpy=False)
        solution = solve_quadratic_hinge(features, labels, device=device)
        out |= {"linear_sat": solution.sat, "linear_n_delta": solution.n_delta,
                "linear_loss": solution.loss, "linear_converged": solution.converged}
    return out


#: Architectures ``(depth, width, activation)``, loads ``n_data / N`` and instances per scale
#: (d = 10). The loads bracket the transition seen in exploratory runs (tanh, depth 1, N =
#: 110: every instance SAT at load 2.3, most UNSAT at 2.6).
JUMP_GRIDS = {
    "quick": {"architectures": ((1, 6, "tanh"),), "loads": (1.5, 3.0), "instances": 2},
    "paper": {"architectures": ((1, 6, "tanh"), (2, 5, "tanh"), (3, 4, "tanh"),
                                (1, 6, "relu")),
              "loads": (1.8, 2.1, 2.4, 2.7, 3.0), "instances": 8},
    "full": {"architectures": ((1, 6, "tanh"), (2, 5, "tanh"), (3, 4, "tanh"), (1, 6, "relu"),
                               (2, 5, "relu"), (1, 10, "tanh"), (2, 8, "tanh")),
             "loads": (1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0, 3.2), "instances": 16},
}

#: Output scales, loads ``n_data / rank J(w_0)`` and instances per scale (d = 10, depth 1,
#: tanh, width 5: rank J(w_0) = N = 55 generically), with ``top_instances`` at the largest
#: alpha, where ``S2.lazy-limit`` is judged. Version 3 extends alpha to 1e7 (the certificate
#: stays resolved there: its bound is 5e-6 of the gradient's scale) and takes 64 networks per
#: point at 1e7, so that non-lazy minima at the rate seen at 1e5 (about 2 % of the UNSAT
#: minima) would show with probability about 0.95.
LAZY_GRIDS = {
    "quick": {"width": 5, "alphas": (1e4, 1e5, 1e6, 1e7), "loads": (1.5, 2.5),
              "instances": 2, "top_instances": 2},
    "paper": {"width": 5, "alphas": (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7),
              "loads": (1.6, 1.8, 2.0, 2.2, 2.4), "instances": 16, "top_instances": 64},
    "full": {"width": 5, "alphas": (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7),
             "loads": (1.4, 1.6, 1.8, 1.9, 2.0, 2.1, 2.2, 2.4, 2.6), "instances": 32,
             "top_instances": 128},
}

#: Root seeds per scale: no scale reuses another's instances. Each version of the trainer
#: draws fresh instances for a new registration of its claims: version 3 (the Newton test,
#: the plateau rule, the projected active rank and the damping fix) after version 2
#: (20_261_230-232, 20_261_240-242) and version 1 (20_261_210-212; 20_261_220, -223, -222).
JUMP_ROOT_SEEDS = {"quick": 20_261_250, "paper": 20_261_251, "full": 20_261_252}
LAZY_ROOT_SEEDS = {"quick": 20_261_260, "paper": 20_261_261, "full": 20_261_262}

INPUT_DIM = 10


def _n_weights(depth: int, width: int) -> int:
    """Weights of the bias-free network of ``depth`` hidden layers of ``width`` (d = 10)."""
    return DenseNetwork(INPUT_DIM, width, depth=depth).n_parameters


def jump_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of ``network-jump``: every architecture at every load."""
    grid = JUMP_GRIDS[scale]
    points = []
    for depth, width, activation in grid["architectures"]:
        n_weights = _n_weights(depth, width)
        for load in grid["loads"]:
            points.append({
                "input_dim": INPUT_DIM, "depth": depth, "width": width,
                "activation": activation, "alpha": None, "n_data": round(load * n_weights),
                "instances": grid["instances"], "linear": False,
                "max_iterations": MAX_ITERATIONS,
                "seed": derive_seed(root_seed, depth, width,
                                    ("tanh", "relu").index(activation), round(100 * load))})
    return points


def lazy_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of ``lazy-limit``: every output scale at every load (depth 1, tanh)."""
    grid = LAZY_GRIDS[scale]
    n_weights = _n_weights(1, grid["width"])
    top = max(grid["alphas"])
    return [
        {"input_dim": INPUT_DIM, "depth": 1, "width": grid["width"], "activation": "tanh",
         "alpha": alpha, "n_data": round(load * n_weights),
         "instances": grid["top_instances"] if alpha == top else grid["instances"],
         "linear": True,
         "max_iterations": LAZY_MAX_ITERATIONS if alpha >= 1e3 else MAX_ITERATIONS,
         "seed": derive_seed(root_seed, round(1000 * alpha), round(100 * load))}
        for alpha in grid["alphas"] for load in grid["loads"]
    ]


NETWORK_JUMP_SWEEP = SweepSpec(
    name="network-jump",
    function=network_jamming_trials,
    version="3",
    grid=jump_grid,
    root_seeds=JUMP_ROOT_SEEDS,
    description="networks trained to a certificate on random labels, load scan (S2)",
    uses_device=True,
)

LAZY_LIMIT_SWEEP = SweepSpec(
    name="lazy-limit",
    function=network_jamming_trials,
    version="3",
    grid=lazy_grid,
    root_seeds=LAZY_ROOT_SEEDS,
    description="output scale alpha from feature learning to lazy, with linearisation (S2)",
    uses_device=True,
)
