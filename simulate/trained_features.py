r"""The features of a trained network: the pipeline of a research e-mail on jamming (S2).

A fully connected ReLU network of depth :math:`L` (1 to 3 in the S2 sweeps) and width
:math:`N` is trained with the hinge loss on labelled inputs; at chosen training steps the
activations of its last hidden layer are taken as :math:`N` features, on which a linear model
is then fitted (:mod:`jamming.simulate.readout_paths`).

Tasks (:func:`labelled_task`), each drawn as disjoint labelled sets (e.g. the network's
training set, the pool of the linear models' nested training sets, and a test set):

``"relu-teacher"``
    Inputs uniform on the sphere of radius :math:`\sqrt d`, labels the sign of a two-layer
    ReLU teacher of width 4 (:func:`teacher_labels`), so that the task has structure that
    training can align the features with, unlike random labels.
``"linear-teacher"``
    The same inputs, labels :math:`\operatorname{sign}(\beta\cdot x)` with a Gaussian
    :math:`\beta` (the sign teacher of S1).
``"digits"``
    scikit-learn's bundled ``load_digits`` (1797 images of 8 x 8 pixels, no download),
    labels :math:`+1` for even and :math:`-1` for odd digits (parity), inputs the projections
    on the first :math:`d` principal components of the *first* set (the network's training
    part; the other sets are projected with its mean and components), each rescaled onto
    the sphere of radius :math:`\sqrt d` like the synthetic inputs.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from jamming.simulate.features import sphere_inputs
from jamming.validation import check_choice, check_count, check_real

#: Names of the tasks of :func:`labelled_task`.
TASKS = ("relu-teacher", "linear-teacher", "digits")


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


def _on_sphere(inputs: np.ndarray) -> np.ndarray:
    """Rows rescaled to the norm sqrt(d) (d the number of columns)."""
    return inputs * (math.sqrt(inputs.shape[1]) / np.linalg.norm(inputs, axis=1))[:, None]


def _digits_sets(input_dim: int, counts: list[int], rng) -> list[tuple[np.ndarray, np.ndarray]]:
    """Disjoint random subsets of ``load_digits``, PCA fitted on the first (module docstring)."""
    from sklearn.datasets import load_digits

    images, digits = load_digits(return_X_y=True)
    if sum(counts) > len(digits):
        raise ValueError(f"the set sizes must add up to at most {len(digits)} (load_digits); "
                         f"got {counts}")
    if input_dim > images.shape[1]:
        raise ValueError(f"input_dim must be in [1, {images.shape[1]}] for digits; got "
                         f"{input_dim}")
    order = rng.permutation(len(digits))
    parts = np.split(order, np.cumsum(counts))[:len(counts)]
    first = images[parts[0]].astype(np.float64)
    mean = first.mean(axis=0)
    components = np.linalg.svd(first - mean, full_matrices=False)[2][:input_dim]
    return [(_on_sphere((images[part] - mean) @ components.T),
             np.where(digits[part] % 2 == 0, 1.0, -1.0)) for part in parts]


def labelled_task(task: str, input_dim: int, counts, rng) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""Disjoint labelled sets of one task (module docstring), e.g. train, pool and test.

    Parameters
    ----------
    task : {"relu-teacher", "linear-teacher", "digits"}
    input_dim : int
        :math:`d \ge 1` (at most 64 for ``"digits"``).
    counts : sequence of int
        The size of each set, each :math:`\ge 1` (together at most 1797 for ``"digits"``).
    rng : numpy.random.Generator
        Draws the teacher and the inputs (or the split of the digits).

    Returns
    -------
    list of (inputs, labels)
        ``inputs`` of shape (count, d) with rows of norm :math:`\sqrt d`, ``labels`` of shape
        (count,) in :math:`\\{-1, +1\\}`.
    """
    task = check_choice("task", task, TASKS)
    check_count("input_dim", input_dim)
    counts = [check_count("counts", count) for count in counts]
    if task == "digits":
        return _digits_sets(input_dim, counts, rng)
    if task == "relu-teacher":
        weights, signs = draw_teacher(input_dim, rng)

        def label(inputs):
            return teacher_labels(inputs, weights, signs)
    else:
        beta = rng.standard_normal(input_dim)

        def label(inputs):
            return np.where(inputs @ beta >= 0.0, 1.0, -1.0)
    sets = [sphere_inputs(count, input_dim, rng) for count in counts]
    return [(inputs, label(inputs)) for inputs in sets]


def hidden_feature_snapshots(train_inputs, train_labels, width: int, record_at, *, seed: int,
                             learning_rate: float = 1e-3, depth: int = 1,
                             evaluate=()) -> dict:
    r"""Train a ReLU network with the hinge loss and record its last hidden layer.

    The network is :class:`jamming.simulate.networks.DenseNetwork` (``depth`` hidden layers
    of ``width`` ReLU units, NTK parametrisation, no biases, float64), trained full batch
    (every step sees every training point) by Adam (:class:`jamming.simulate.networks.Adam`,
    constant learning rate, :math:`\beta = (0.9, 0.999)`) on
    :math:`\sum_\mu \max(0, 1 - y_\mu f(x_\mu))`.

    Parameters
    ----------
    train_inputs : array_like, shape (n_train, d)
    train_labels : array_like, shape (n_train,)
    width : int
        :math:`N \ge 1`, every hidden layer.
    record_at : sequence of int
        Increasing training steps :math:`\ge 0` (0: at initialisation).
    seed : int
        Seed of the initialisation.
    learning_rate : float
        Adam's :math:`\eta > 0`.
    depth : int
        :math:`L \ge 1` hidden layers; the features are those of the last.
    evaluate : sequence of array_like
        Further inputs, each of shape (n_i, d), whose features are recorded too.

    Returns
    -------
    dict
        ``steps`` (n_times,), ``train_loss`` (n_times,), ``train_features``
        (n_times, n_train, N) and ``features``, a list with one array (n_times, n_i, N) per
        entry of ``evaluate``.
    """
    import torch

    from jamming.simulate.networks import Adam, DenseNetwork, hidden_layers, init_networks, train

    learning_rate = check_real("learning_rate", learning_rate, 0.0, strict=True)
    train_inputs = np.asarray(train_inputs, dtype=np.float64)
    others = [np.asarray(inputs, dtype=np.float64) for inputs in evaluate]
    network = DenseNetwork(train_inputs.shape[1], check_count("width", width),
                           depth=check_count("depth", depth))
    params = init_networks(network, seed, 1)  # float64
    every = torch.from_numpy(np.concatenate([train_inputs, *others]))

    def observe(current, step):
        return {"features": hidden_layers(network, current, every)[-1]}

    run = train(network, params, train_inputs, train_labels, optimizer=Adam(learning_rate),
                record_at=record_at, loss="hinge", observe=observe)
    features = run.records["features"][0]
    bounds = np.cumsum([train_inputs.shape[0]] + [len(inputs) for inputs in others])
    return {"steps": run.steps, "train_loss": run.loss[0],
            "train_features": features[:, :bounds[0]],
            "features": [features[:, start:stop] for start, stop in pairwise(bounds)]}
