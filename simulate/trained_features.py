r"""The features of a trained network: the pipeline of a research e-mail on jamming (S2).

A one-hidden-layer ReLU network of width :math:`N` is trained with the hinge loss on labelled
inputs on the sphere of radius :math:`\sqrt d`; at chosen training steps its hidden
activations on the training and test inputs are taken as :math:`N` features, on which a
linear model is then fitted (:func:`jamming.simulate.hinge.solve_quadratic_hinge_path`).

The labels come from a fixed *teacher*: the sign of a two-layer ReLU network of width 4
(:func:`teacher_labels`), so that the task has structure that training can align the
features with, unlike random labels.
"""

from __future__ import annotations

import math

import numpy as np

from jamming.simulate.features import sphere_inputs
from jamming.validation import check_count, check_real


def teacher_labels(inputs, weights, signs) -> np.ndarray:
    r"""Labels :math:`y = \operatorname{sign}\sum_k a_k\,\mathrm{relu}(w_k\cdot x/\sqrt d)` of a
    two-layer ReLU teacher (``+1`` where the sum is 0, which has probability 0).

    Parameters
    ----------
    inputs : array_like, shape (n_data, d)
    weights : array_like, shape (width, d)
        The teacher's hidden weights :math:`w_k`.
    signs : array_like, shape (width,)
        Its output weights :math:`a_k` (e.g. alternating :math:`\pm1`, so that both labels
        occur).

    Returns
    -------
    numpy.ndarray, shape (n_data,), float64, entries -1 or +1
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    signs = np.asarray(signs, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != inputs.shape[1] or signs.shape != weights.shape[:1]:
        raise ValueError(f"weights must have shape (width, {inputs.shape[1]}) and signs "
                         f"(width,); got {weights.shape} and {signs.shape}")
    field = np.maximum(inputs @ weights.T / math.sqrt(inputs.shape[1]), 0.0) @ signs
    return np.where(field >= 0.0, 1.0, -1.0)


def draw_teacher(input_dim: int, rng, width: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian hidden weights (``width`` x ``input_dim``) and alternating output signs."""
    check_count("input_dim", input_dim)
    check_count("width", width)
    return rng.standard_normal((width, input_dim)), np.resize([1.0, -1.0], width)


def hidden_feature_snapshots(train_inputs, train_labels, test_inputs, width: int,
                             record_at, *, seed: int, learning_rate: float = 1e-3) -> dict:
    r"""Train a one-hidden-layer ReLU network with the hinge loss and record its features.

    The network is :class:`jamming.simulate.networks.DenseNetwork` (NTK parametrisation, no
    biases, float64), trained full batch by Adam on
    :math:`\sum_\mu \max(0, 1 - y_\mu f(x_\mu))`.

    Parameters
    ----------
    train_inputs : array_like, shape (n_train, d)
    train_labels : array_like, shape (n_train,)
    test_inputs : array_like, shape (n_test, d)
    width : int
        :math:`N \ge 1`.
    record_at : sequence of int
        Increasing training steps :math:`\ge 0` (0: at initialisation).
    seed : int
        Seed of the initialisation.
    learning_rate : float
        Adam's :math:`\eta > 0`.

    Returns
    -------
    dict
        ``steps`` (n_times,), ``train_loss`` (n_times,) and the hidden activations
        ``train_features`` (n_times, n_train, N) and ``test_features`` (n_times, n_test, N).
    """
    import torch

    from jamming.simulate.networks import Adam, DenseNetwork, hidden_layers, init_networks, train

    learning_rate = check_real("learning_rate", learning_rate, 0.0, strict=True)
    train_inputs = np.asarray(train_inputs, dtype=np.float64)
    test_inputs = np.asarray(test_inputs, dtype=np.float64)
    network = DenseNetwork(train_inputs.shape[1], check_count("width", width))
    params = init_networks(network, seed, 1)  # float64
    every = torch.from_numpy(np.concatenate([train_inputs, test_inputs]))

    def observe(current, step):
        return {"features": hidden_layers(network, current, every)[0]}

    run = train(network, params, train_inputs, train_labels, optimizer=Adam(learning_rate),
                record_at=record_at, loss="hinge", observe=observe)
    features = run.records["features"][0]
    n_train = train_inputs.shape[0]
    return {"steps": run.steps, "train_loss": run.loss[0],
            "train_features": features[:, :n_train], "test_features": features[:, n_train:]}


def teacher_task(input_dim: int, n_train: int, n_test: int, rng) -> dict:
    """Inputs on the sphere of radius sqrt(d) and the labels of a fresh teacher of width 4.

    Returns
    -------
    dict
        ``train_inputs``, ``train_labels``, ``test_inputs``, ``test_labels``.
    """
    weights, signs = draw_teacher(input_dim, rng)
    train_inputs = sphere_inputs(n_train, input_dim, rng)
    test_inputs = sphere_inputs(n_test, input_dim, rng)
    return {"train_inputs": train_inputs,
            "train_labels": teacher_labels(train_inputs, weights, signs),
            "test_inputs": test_inputs, "test_labels": teacher_labels(test_inputs, weights, signs)}
