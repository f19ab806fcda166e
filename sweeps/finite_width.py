r"""Sweep of finite-width effects in wide networks (S3, seeds 001 and 002).

``finite-width``
    One-hidden-layer networks in the ``stax`` NTK parametrisation
    (:class:`~jamming.simulate.networks.DenseNetwork`, depth 1, no biases), smooth (``erf``) and
    ``relu``, at several widths :math:`h`, several independent networks per width, all on
    the same fixed inputs and targets. Per network it records

    - the initial empirical NTK :math:`K_h(0)` on the train and test inputs together (the
      comparison computes :math:`\|K_h(0) - K_\infty\|_F` with the analytic kernel, which
      this module may not import);
    - full-batch gradient descent on the square loss with a learning rate and a step count
      that do not depend on :math:`h` (the NTK is :math:`O(1)` in this parametrisation, so
      the training time :math:`\eta T` is the same in kernel units at every width): the
      relative kernel drift :math:`\|K_h(t) - K_h(0)\|_F/\|K_h(0)\|_F` and the outputs on the
      train and test points at a few steps (for the linearised flow);
    - the lazy-training ratio :math:`\kappa = \|y(w_0) - \tilde y\|\,\|\nabla^2 y\|/
      \|\nabla y\|^2` of Chizat, Oyallon & Bach (seed 002) on the training set, and its
      factors, in the NTK parametrisation and in the standard one (version 2): the same
      draws define the same function in both
      (:func:`~jamming.simulate.networks.init_networks`), but gradients and Hessians differ
      by the parameter scales. The Hessian
      norm by power iteration over all parameters (three starts), neuron by neuron
      (:func:`~jamming.simulate.lazy.shallow_output_hessian_norm`) and, for ReLU, in closed
      form (:func:`~jamming.simulate.lazy.shallow_relu_hessian_norm`).

At depth 1 the NTK of a network is an average of :math:`h` i.i.d. neuron terms, so
:math:`\mathbb{E}K_h(0) = K_\infty` exactly and :math:`\|K_h(0) - K_\infty\|_F` is a pure
fluctuation (no :math:`O(1/h)` mean shift, which appears from depth 2 on).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jamming.sweeps.spec import SweepSpec, derive_seed

#: Fixed data: ``N_TRAIN`` + ``N_TEST`` points on the sphere of radius sqrt(INPUT_DIM) and
#: standard normal targets, from ``DATA_SEED``.
N_TRAIN, N_TEST, INPUT_DIM, DATA_SEED = 8, 4, 4, 27_001
#: Architecture: depth 1, W_std, no biases (``bias=False``; ``b_std = 0`` in the theory).
FW_DEPTH, FW_W_STD = 1, 1.5
#: Gradient descent: learning rate and recorded steps (the last is T). eta * lambda_max of
#: the infinite-width kernel is about 0.1 for both activations (see the claim module).
FW_LEARNING_RATE = 0.02
FW_RECORD_AT = (0, 25, 50, 100, 200)
#: Hessian power iteration of the lazy ratio (three random starts, the largest kept).
FW_HESSIAN = {"max_iterations": 200, "tol": 1e-7, "n_starts": 3}
#: The parametrisations in which the lazy ratio is measured, on the same networks.
FW_PARAMETERIZATIONS = ("ntk", "standard")
#: Root seeds: quick the old shared root; paper and full drawn fresh for registration 2 of
#: the S3 finite-width claims.
FW_ROOT_SEEDS = {"quick": 4_003, "paper": 109_019_655, "full": 1_447_216_328}
FW_ACTIVATIONS = ("erf", "relu")

FINITE_WIDTH_GRIDS = {
    "quick": {"widths": (64, 128, 256, 512), "n_networks": 12, "n_kappa": 6},
    "paper": {"widths": (64, 128, 256, 512, 1024, 2048, 4096), "n_networks": 48,
              "n_kappa": 16},
    "full": {"widths": (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384), "n_networks": 128,
             "n_kappa": 32},
}


def finite_width_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train inputs (N_TRAIN, d), test inputs (N_TEST, d), train targets (N_TRAIN,))."""
    from jamming.simulate.features import sphere_inputs

    rng = np.random.default_rng(DATA_SEED)
    points = sphere_inputs(N_TRAIN + N_TEST, INPUT_DIM, rng)
    targets = rng.standard_normal(N_TRAIN)
    return points[:N_TRAIN], points[N_TRAIN:], targets


def finite_width_trials(params: dict, device: str = "cpu") -> dict:
    """Initial kernels, training outputs, kernel drift and lazy ratio of ``n_networks`` nets.

    Parameters
    ----------
    params : dict
        ``activation``, ``width``, ``depth``, ``w_std``, ``learning_rate``, ``n_networks``,
        ``n_kappa`` (the lazy ratio, whose Hessian power iteration dominates the cost, is
        computed for the first ``n_kappa`` networks only), ``seed``.
    device : {"cpu", "cuda"}

    Returns
    -------
    dict
        ``inputs`` (N_TRAIN + N_TEST, d), train first; ``targets`` (N_TRAIN,); ``steps``
        (n_times,); ``kernel0`` (S, N, N): the empirical NTK at initialisation on all inputs;
        ``drift`` (S, n_times): :math:`\\|K_t - K_0\\|_F/\\|K_0\\|_F` on all inputs;
        ``train_outputs`` (S, n_times, N_TRAIN), ``test_outputs`` (S, n_times, N_TEST);
        ``kappa``, ``hessian_norm``, ``jacobian_norm``, ``residual_norm`` (n_kappa,): the
        lazy ratio and its factors in the NTK parametrisation, and ``kappa_standard``,
        ``hessian_norm_standard``, ``jacobian_norm_standard`` in the standard one (the same
        functions, so the same residual); ``hessian_block`` and ``hessian_block_standard``
        (n_kappa,), the Hessian norms neuron by neuron
        (:func:`~jamming.simulate.lazy.shallow_output_hessian_norm`); for ReLU
        ``hessian_exact`` and ``hessian_exact_standard``, their closed form.
    """
    import torch

    from jamming.simulate.kernel_drift import train_kernel_drift
    from jamming.simulate.lazy import (
        lazy_training_ratio,
        shallow_output_hessian_norm,
        shallow_relu_hessian_norm,
    )
    from jamming.simulate.networks import DenseNetwork, init_networks

    train, test, targets = finite_width_data()
    inputs = np.concatenate([train, test])
    network = DenseNetwork(INPUT_DIM, int(params["width"]), depth=int(params["depth"]),
                           activation=params["activation"], W_std=float(params["w_std"]))
    with torch.no_grad():
        weights = init_networks(network, int(params["seed"]), int(params["n_networks"]),
                                device=device)
    run = train_kernel_drift(network, weights, train, targets,
                             learning_rate=float(params["learning_rate"]),
                             record_at=list(FW_RECORD_AT), test_inputs=test,
                             kernel_inputs=inputs, device=device)
    result = {"inputs": inputs, "targets": targets, "steps": run.steps,
              "kernel0": run.kernel0, "drift": run.drift, "train_outputs": run.train_outputs,
              "test_outputs": run.test_outputs}
    for parameterization in FW_PARAMETERIZATIONS:
        suffix = "" if parameterization == "ntk" else f"_{parameterization}"
        same = dataclasses.replace(network, parameterization=parameterization)
        with torch.no_grad():
            first = init_networks(same, int(params["seed"]), int(params["n_kappa"]),
                                  device=device)
        lazy = lazy_training_ratio(same, first, train, targets, device=device,
                                   seed=int(params["seed"]) % (2**32), **FW_HESSIAN)
        result |= {f"kappa{suffix}": lazy.kappa, f"hessian_norm{suffix}": lazy.hessian_norm,
                   f"jacobian_norm{suffix}": lazy.jacobian_norm}
        result[f"hessian_block{suffix}"] = shallow_output_hessian_norm(
            same, first, train, seed=int(params["seed"]) % (2**32))
        if params["activation"] == "relu":
            result[f"hessian_exact{suffix}"] = shallow_relu_hessian_norm(same, first, train)
    return result | {"residual_norm": lazy.residual_norm}


def finite_width_points(scale: str, root_seed: int) -> list[dict]:
    """Points of ``finite-width``: (activation, width), one seed each."""
    grid = FINITE_WIDTH_GRIDS[scale]
    return [{"activation": a, "width": h, "depth": FW_DEPTH, "w_std": FW_W_STD,
             "learning_rate": FW_LEARNING_RATE, "n_networks": grid["n_networks"],
             "n_kappa": grid["n_kappa"],
             "seed": derive_seed(root_seed, FW_ACTIVATIONS.index(a), h)}
            for a in FW_ACTIVATIONS for h in grid["widths"]]


FINITE_WIDTH_SWEEP = SweepSpec(
    name="finite-width",
    function=finite_width_trials,
    version="2",
    grid=finite_width_points,
    root_seeds=FW_ROOT_SEEDS,
    description="initial NTK, kernel drift, training outputs and lazy ratio vs width (S3)",
    uses_device=True,
)
