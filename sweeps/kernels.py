"""Sweeps of finite-network kernels (S3).

``kernel-monte-carlo``
    Per-network NNGP (output products) and empirical NTK of fully connected networks in the
    ``stax`` conventions, on a few fixed inputs, at several widths: the Monte Carlo side of
    ``S3.kernel-monte-carlo``.
"""

from __future__ import annotations

import numpy as np

from jamming.sweeps.spec import SweepSpec, derive_seed, shared_root_seed

#: Inputs of the Monte Carlo kernels: ``N_INPUTS`` Gaussian points in ``INPUT_DIM``
#: dimensions (not normalised, as ``stax`` takes them), drawn from this seed.
N_INPUTS, INPUT_DIM, INPUT_SEED = 6, 5, 31_415


def kernel_inputs() -> np.ndarray:
    """The fixed inputs of ``kernel-monte-carlo``, shape (N_INPUTS, INPUT_DIM)."""
    return np.random.default_rng(INPUT_SEED).standard_normal((N_INPUTS, INPUT_DIM))


def kernel_monte_carlo_trials(params: dict, device: str = "cpu") -> dict:
    """Per-network NNGP and NTK replicates of one architecture at one width.

    Parameters
    ----------
    params : dict
        ``activation``, ``depth``, ``width``, ``w_std`` (the network's ``W_std``), ``b_std``
        (``None``: no biases, ``DenseNetwork(bias=False)``), ``n_networks``, ``seed``.
    device : {"cpu", "cuda"}

    Returns
    -------
    dict
        ``inputs`` (N_INPUTS, INPUT_DIM); ``nngp_samples`` and ``ntk_samples``
        (n_networks, N_INPUTS, N_INPUTS): :math:`f_s(x)f_s(x')` and :math:`\\Theta_s(x, x')`.
    """
    from jamming.simulate.kernel_estimates import monte_carlo_kernels
    from jamming.simulate.networks import DenseNetwork

    inputs = kernel_inputs()
    network = DenseNetwork(INPUT_DIM, params["width"], depth=params["depth"],
                           activation=params["activation"], W_std=params["w_std"],
                           bias=params["b_std"] is not None, b_std=params["b_std"] or 0.0)
    estimate = monte_carlo_kernels(network, inputs, params["n_networks"], params["seed"],
                                   device=device)
    return {"inputs": inputs, "nngp_samples": estimate.nngp_samples,
            "ntk_samples": estimate.ntk_samples}


#: Architectures and widths per scale. ``b_std`` None means bias-free layers.
KERNEL_MC_GRIDS = {
    "quick": {"activations": ("relu", "erf"), "depths": (1, 2), "b_stds": (0.5,),
              "widths": (32, 128), "n_networks": 200},
    "paper": {"activations": ("relu", "erf", "tanh"), "depths": (1, 2, 3, 4),
              "b_stds": (None, 0.5), "widths": (64, 256, 1024), "n_networks": 400},
    "full": {"activations": ("relu", "erf", "tanh"), "depths": (1, 2, 3, 4),
             "b_stds": (None, 0.5), "widths": (64, 256, 1024, 4096), "n_networks": 1000},
}
#: W_std of every layer (not a special value; the ``neural_tangents`` examples use 1.5).
KERNEL_MC_W_STD = 1.5


def kernel_monte_carlo_points(scale: str, root_seed: int) -> list[dict]:
    """Points of ``kernel-monte-carlo``: (activation, depth, b_std, width)."""
    grid = KERNEL_MC_GRIDS[scale]
    return [{"activation": a, "depth": depth, "width": h, "w_std": KERNEL_MC_W_STD,
             "b_std": b, "n_networks": grid["n_networks"],
             "seed": derive_seed(root_seed, sorted(KERNEL_MC_GRIDS["full"]["activations"]).index(a),
                                 depth, 0 if b is None else 1 + round(100 * b), h)}
            for a in grid["activations"] for depth in grid["depths"] for b in grid["b_stds"]
            for h in grid["widths"]]


KERNEL_MC_SWEEP = SweepSpec(
    name="kernel-monte-carlo",
    function=kernel_monte_carlo_trials,
    version="1",
    grid=kernel_monte_carlo_points,
    root_seeds=shared_root_seed(2_236),
    description="per-network NNGP and empirical NTK of stax-convention networks (S3)",
    uses_device=True,
)
