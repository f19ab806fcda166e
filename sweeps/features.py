"""Sweeps on random-feature and empirical-NTK feature maps (S1).

``jacobian-rank``
    Numerical rank of the empirical-NTK features of a fully connected network at
    initialisation, with the stable-neuron counts of its first hidden layer on the data.
``relu-rank-finite-data``
    The same rank for one-hidden-layer ReLU networks on 2P or 3P points (fresh seeds), with
    each hidden neuron's number of active points.
``feature-cover``
    LP separability of random labels on empirical-NTK or random features, with the measured
    rank of each feature matrix.
``teacher-separability``
    LP separability of sign-teacher labels on random ReLU features of Gaussian inputs.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from jamming.simulate.activations import numpy_activation
from jamming.simulate.data import random_labels
from jamming.simulate.features import (
    NetworkSpec,
    empirical_ntk_features,
    init_parameters,
    numerical_rank,
    random_features,
    sphere_inputs,
)
from jamming.simulate.separability import is_linearly_separable
from jamming.sweeps.spec import SweepSpec, derive_seed
from jamming.theory.teacher import random_features_sign_teacher_phi_c

# ------------------------------------------------------------------------------------------
# Jacobian rank
# ------------------------------------------------------------------------------------------


def _rank_and_activity(spec: NetworkSpec, n_data: int, rng) -> tuple[int, np.ndarray]:
    """Numerical rank of a fresh network's empirical-NTK features on ``n_data`` sphere inputs,
    and how many inputs activate each hidden neuron.

    Draws the parameters, then the inputs, from ``rng`` (in that order).

    Returns
    -------
    rank : int
        :func:`.numerical_rank` of the Jacobian, shape ``(n_data, P)``.
    active : numpy.ndarray of bool, shape (depth, n_data, width)
        Per hidden layer, which inputs give each neuron a positive pre-activation (for ReLU:
        where it is active).
    """
    weights = init_parameters(spec, rng)
    inputs = sphere_inputs(n_data, spec.input_dim, rng)
    rank, _ = numerical_rank(empirical_ntk_features(spec, weights, inputs))
    return int(rank), hidden_activity(spec, weights, inputs)


def hidden_activity(spec: NetworkSpec, weights: dict, inputs: np.ndarray) -> np.ndarray:
    """Which inputs give each hidden neuron a positive pre-activation, per layer.

    Returns
    -------
    numpy.ndarray of bool, shape (depth, n_data, width)
    """
    active, hidden, fan_in = [], inputs, spec.input_dim
    for layer in range(1, spec.depth + 1):
        pre = spec.W_std / math.sqrt(fan_in) * hidden @ weights[f"W{layer}"].numpy().T
        if spec.bias:
            pre = pre + spec.b_std * weights[f"b{layer}"].numpy()
        active.append(pre > 0)
        hidden, fan_in = numpy_activation(spec.activation)(pre), spec.width
    return np.array(active)


def smallest_pair_difference(active: np.ndarray) -> int:
    """Fewest inputs on which two crossing neurons of a layer disagree, ``min |S_i xor S_j|``.

    Parameters
    ----------
    active : numpy.ndarray of bool, shape (n_data, width)
        Which inputs activate each neuron.

    Returns
    -------
    int
        ``n_data`` when fewer than two neurons cross (are active on some inputs, not all).
    """
    n_data = active.shape[0]
    counts = active.sum(axis=0)
    crossing = active[:, (counts > 0) & (counts < n_data)].astype(np.int64)
    if crossing.shape[1] < 2:
        return int(n_data)
    agree = crossing.T @ crossing + (1 - crossing).T @ (1 - crossing)
    disagree = n_data - agree[np.triu_indices(crossing.shape[1], k=1)]
    return int(disagree.min())


def jacobian_rank_trial(params: dict) -> dict:
    """Rank of the empirical-NTK features of one network on ``3 P`` sphere inputs.

    Parameters
    ----------
    params : dict
        ``input_dim``, ``width``, ``depth``, ``activation``, ``bias`` and ``seed``.

    Returns
    -------
    dict
        ``rank``, ``n_parameters``, ``n_data``, ``active_counts`` (shape (depth, width):
        inputs with a positive pre-activation, per hidden neuron), ``pair_differences``
        (shape (depth,): :func:`smallest_pair_difference` per layer), and for the first
        hidden layer the numbers of ``dead`` and ``always_active`` neurons on the data.
    """
    rng = np.random.default_rng(params["seed"])
    spec = NetworkSpec(params["input_dim"], params["width"], depth=params["depth"],
                       activation=params["activation"], bias=params["bias"],
                       b_std=JACOBIAN_B_STD if params["bias"] else 0.0)
    n_data = 3 * spec.n_parameters
    rank, active = _rank_and_activity(spec, n_data, rng)
    counts = active.sum(axis=1).astype(np.int64)
    return {"rank": rank, "n_parameters": spec.n_parameters, "n_data": n_data,
            "active_counts": counts,
            "pair_differences": np.array([smallest_pair_difference(a) for a in active]),
            "dead": int(np.sum(counts[0] == 0)), "always_active": int(np.sum(counts[0] == n_data))}


#: :math:`\sigma_b` of the networks with biases of the Jacobian-rank sweep.
JACOBIAN_B_STD = 1.0

#: (activation, bias, depth, d, h) per scale. The quick grid keeps the hardest regime of each
#: part of ``S1.effective-parameters``: ReLU with biases at small d (unresolved neurons) and
#: depth-2 ReLU; the paper grid adds depth-2 ReLU networks for the attainment rate.
JACOBIAN_CASES = {
    "quick": [("relu", False, 1, 5, 8), ("relu", True, 1, 3, 8), ("tanh", False, 1, 5, 8),
              ("erf", True, 1, 5, 8), ("relu", False, 2, 5, 6), ("relu", False, 2, 8, 8)],
    "paper": [(a, b, 1, d, h) for a in ("relu", "tanh", "erf") for b in (False, True)
              for d, h in ((5, 8), (10, 16), (20, 12))]
    + [("relu", True, 1, 3, 8)]
    + [("relu", b, 2, d, h) for b in (False, True)
       for d, h in ((5, 6), (5, 8), (8, 8), (4, 10), (10, 16))]
    + [("tanh", False, 2, 10, 8), ("erf", True, 2, 5, 6)],
}
JACOBIAN_CASES["full"] = JACOBIAN_CASES["paper"]
JACOBIAN_SEEDS = {"quick": 2, "paper": 6, "full": 20}
#: Root seeds: quick for development (the old shared root); paper and full drawn fresh for
#: the second registration of ``S1.effective-parameters``.
JACOBIAN_ROOT_SEEDS = {"quick": 1_618, "paper": 1_160_220_703, "full": 1_741_357_093}


def jacobian_grid(scale: str, root_seed: int) -> list[dict]:
    """Networks of the Jacobian-rank sweep (activation, bias, depth, d, h) x seeds."""
    return [
        {"activation": a, "bias": b, "depth": depth, "input_dim": d, "width": h,
         "seed": derive_seed(root_seed, i, s)}
        for i, (a, b, depth, d, h) in enumerate(JACOBIAN_CASES[scale])
        for s in range(JACOBIAN_SEEDS[scale])
    ]


JACOBIAN_RANK_SWEEP = SweepSpec(
    name="jacobian-rank",
    function=jacobian_rank_trial,
    version="2",
    grid=jacobian_grid,
    root_seeds=JACOBIAN_ROOT_SEEDS,
    description="numerical rank of empirical-NTK features at initialisation, with each "
                "neuron's active count (S1)",
)

# ------------------------------------------------------------------------------------------
# Rank of one-hidden-layer ReLU networks on finite data
# ------------------------------------------------------------------------------------------


def relu_rank_trial(params: dict) -> dict:
    """Jacobian rank and per-neuron activity of a one-hidden-layer ReLU network on sphere data.

    Parameters
    ----------
    params : dict
        ``input_dim``, ``width``, ``bias``, ``b_std`` (sigma_b, used only with
        biases), ``load`` (an integer: ``n_data = load * P``) and ``seed``.

    Returns
    -------
    dict
        ``rank`` (:func:`.numerical_rank` of the empirical-NTK features), ``n_parameters``
        (P), ``n_data``, and the arrays ``active_counts`` (int64, shape ``(width,)``): for
        each hidden neuron the number of data points where its pre-activation is > 0;
        ``patterns`` (bool, shape ``(m, width)``): the distinct activation patterns of the
        data (which neurons are active at a point), and ``pattern_counts`` (int64, shape
        ``(m,)``): how many points carry each.
    """
    rng = np.random.default_rng(params["seed"])
    # a point without biases carries b_std = 1.0 too (in its seed), unused
    spec = NetworkSpec(params["input_dim"], params["width"], activation="relu",
                       bias=params["bias"], b_std=params["b_std"] if params["bias"] else 0.0)
    n_data = int(params["load"]) * spec.n_parameters
    rank, active = _rank_and_activity(spec, n_data, rng)
    patterns, pattern_counts = np.unique(active[0], axis=0, return_counts=True)
    return {"rank": rank, "n_parameters": spec.n_parameters, "n_data": n_data,
            "active_counts": active[0].sum(axis=0).astype(np.int64),
            "patterns": patterns, "pattern_counts": pattern_counts.astype(np.int64)}


#: (bias, input_dim, width, b_std) per scale; loads N_data / P and seeds per point below.
#: Biases, and sigma_b = 2, make neurons whose active or inactive side holds fewer than d + 1
#: points common, and N_data = P leaves many activation patterns with few points: the cases
#: where :func:`jamming.theory.parameters.activation_pattern_rank` differs from the
#: neuron-by-neuron count :func:`~jamming.theory.parameters.shallow_relu_rank` (the quick grid
#: keeps the hardest, d = 3 with sigma_b = 2).
RELU_RANK_CASES = {
    "quick": [(True, 3, 8, 2.0), (True, 5, 8, 2.0), (True, 10, 8, 2.0), (False, 5, 8, 1.0)],
    "paper": [(True, d, h, b) for d in (3, 5, 10, 20) for h in (8, 16, 32) for b in (1.0, 2.0)]
    + [(False, d, h, 1.0) for d in (3, 5, 10, 20) for h in (8, 16, 32)],
}
RELU_RANK_CASES["full"] = RELU_RANK_CASES["paper"]
RELU_RANK_LOADS = {"quick": (1, 2, 3), "paper": (1, 2, 3), "full": (1, 2, 3)}
#: Networks per point, with biases and without (bias-free hyperplanes all pass through the
#: origin, so their caps are never small).
RELU_RANK_SEEDS = {"quick": (2, 1), "paper": (10, 5), "full": (40, 10)}
#: Root seeds: quick the old shared root; paper and full drawn fresh for registration 2 of
#: ``S1.relu-rank-finite-data``.
RELU_RANK_ROOT_SEEDS = {"quick": 14_142, "paper": 764_956_070, "full": 241_488_520}


def relu_rank_grid(scale: str, root_seed: int) -> list[dict]:
    """Networks of the finite-data rank sweep: cases x loads x seeds."""
    points = []
    for bias, d, h, b_std in RELU_RANK_CASES[scale]:
        for load in RELU_RANK_LOADS[scale]:
            for s in range(RELU_RANK_SEEDS[scale][0 if bias else 1]):
                points.append({"input_dim": d, "width": h, "bias": bias, "b_std": b_std,
                               "load": load,
                               "seed": derive_seed(root_seed, d, h, int(bias), round(10 * b_std),
                                                   load, s)})
    return points


RELU_RANK_SWEEP = SweepSpec(
    name="relu-rank-finite-data",
    function=relu_rank_trial,
    version="2",
    grid=relu_rank_grid,
    root_seeds=RELU_RANK_ROOT_SEEDS,
    description="Jacobian rank, per-neuron active counts and the activation patterns, "
                "one-hidden-layer ReLU (S1)",
)

# ------------------------------------------------------------------------------------------
# Cover's law on feature maps
# ------------------------------------------------------------------------------------------


def feature_matrix(model: str, input_dim: int, width: int, n_data: int, rng):
    """Features of fresh sphere inputs: ``"ntk"`` (bias-free ReLU, depth 1) or ``"random"``.

    Returns
    -------
    features : numpy.ndarray
        Shape (n_data, P) for NTK (P = width (input_dim + 1)) or (n_data, width) for random
        ReLU features.
    patterns : numpy.ndarray of bool, shape (n_data, width), or None
        For NTK, which hidden neurons each input activates; None for random features.
    """
    inputs = sphere_inputs(n_data, input_dim, rng)
    if model == "random":
        return random_features(inputs, width, rng, activation="relu"), None
    spec = NetworkSpec(input_dim, width, activation="relu")
    weights = init_parameters(spec, rng)
    return (empirical_ntk_features(spec, weights, inputs),
            hidden_activity(spec, weights, inputs)[0])


def feature_cover_trials(params: dict) -> dict:
    """LP separability of random labels on fresh feature matrices of one model and size.

    Parameters
    ----------
    params : dict
        ``model`` ("ntk" or "random"), ``input_dim``, ``width``, ``n_data``, ``trials``,
        ``seed``.

    Returns
    -------
    dict
        ``n_separable``, ``trials``, ``rank`` (numerical rank of one more feature matrix of
        the same model on ``max(n_data, 3 P)`` points, so not capped by ``n_data``),
        ``n_columns`` (P), and the arrays ``separable`` (bool, shape (trials,)) and, for
        NTK, ``patterns`` (bool, shape (trials, n_data, width)): each instance's outcome and
        activation patterns.
    """
    rng = np.random.default_rng(params["seed"])
    model, d, h, n_data = params["model"], params["input_dim"], params["width"], params["n_data"]
    separable, patterns = [], []
    for _ in range(params["trials"]):
        features, active = feature_matrix(model, d, h, n_data, rng)
        separable.append(is_linearly_separable(features, random_labels(n_data, rng)))
        patterns.append(active)
    columns = h * (d + 1) if model == "ntk" else h
    rank, _ = numerical_rank(feature_matrix(model, d, h, max(n_data, 3 * columns), rng)[0])
    result = {"n_separable": int(sum(separable)), "trials": int(params["trials"]),
              "rank": int(rank), "n_columns": int(columns),
              "separable": np.array(separable, dtype=bool)}
    if model == "ntk":
        result["patterns"] = np.array(patterns, dtype=bool)
    return result


#: (model, input_dim, width): NTK N_eff = width * input_dim; random features N_eff = width.
#: The small NTK models put the transition at N_data <= 20, where the exact count of
#: separable dichotomies is computed per instance (``S1.ntk-cover``, registration 2).
FEATURE_COVER_MODELS = {
    "quick": (("ntk", 3, 3), ("ntk", 5, 4), ("random", 10, 20)),
    "paper": (("ntk", 3, 3), ("ntk", 4, 3), ("ntk", 5, 4), ("ntk", 5, 12), ("random", 10, 20),
              ("random", 20, 60)),
}
FEATURE_COVER_MODELS["full"] = FEATURE_COVER_MODELS["paper"]
FEATURE_COVER_TRIALS = {"quick": 60, "paper": 200, "full": 1600}
FEATURE_COVER_LOADS = {"quick": (1.0, 1.5, 2.0, 2.5, 3.0),
                       "paper": (0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5),
                       "full": (0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5)}
#: Root seeds: quick the old shared root; paper and full drawn fresh for registration 2 of
#: ``S1.ntk-cover`` and registration 1 of ``S1.random-features-cover``.
FEATURE_COVER_ROOT_SEEDS = {"quick": 2_718, "paper": 131_058_494, "full": 1_643_898_043}


def feature_cover_grid(scale: str, root_seed: int) -> list[dict]:
    """Points: model sizes x loads N_data / N_eff with N_eff the expected rank."""
    points = []
    for model, d, h in FEATURE_COVER_MODELS[scale]:
        n_eff = h * d if model == "ntk" else h
        for load in FEATURE_COVER_LOADS[scale]:
            n_data = round(load * n_eff)
            points.append({"model": model, "input_dim": d, "width": h, "n_data": n_data,
                           "trials": FEATURE_COVER_TRIALS[scale],
                           "seed": derive_seed(root_seed, d, h, n_data, model == "ntk")})
    return points


FEATURE_COVER_SWEEP = SweepSpec(
    name="feature-cover",
    function=feature_cover_trials,
    version="2",
    grid=feature_cover_grid,
    root_seeds=FEATURE_COVER_ROOT_SEEDS,
    description="LP separability of random labels on NTK and random ReLU features (S1)",
)

# ------------------------------------------------------------------------------------------
# Sign teacher on random features
# ------------------------------------------------------------------------------------------


def teacher_separability_trials(params: dict) -> dict:
    """Separable counts of sign-teacher labels on random ReLU features of Gaussian inputs.

    Inputs ``x ~ N(0, I_d)``; features ``relu(W x / sqrt(d))`` with ``W`` Gaussian
    (``n_features = round(psi d)``); labels ``sign(beta . x)`` for a fresh random direction
    ``beta`` per trial (the conventions of :mod:`jamming.theory.teacher`).

    Parameters
    ----------
    params : dict
        ``input_dim``, ``psi``, ``load`` (N_data / N_eff), ``trials``, ``seed``.

    Returns
    -------
    dict
        ``n_separable``, ``trials``, ``n_features``, ``n_data``.
    """
    rng = np.random.default_rng(params["seed"])
    d = params["input_dim"]
    n_features = round(params["psi"] * d)
    n_data = round(params["load"] * n_features)
    separable = 0
    for _ in range(params["trials"]):
        inputs = rng.standard_normal((n_data, d))
        features = random_features(inputs, n_features, rng, activation="relu")
        labels = np.sign(inputs @ rng.standard_normal(d))
        separable += is_linearly_separable(features, labels)
    return {"n_separable": int(separable), "trials": int(params["trials"]),
            "n_features": n_features, "n_data": n_data}


#: Three sizes at every scale, so that the 1/N_eff extrapolation of ``S1.teacher-threshold``
#: has a residual to judge (registration 2 added d = 160 to the paper grid).
TEACHER_GRIDS = {
    "quick": {"psis": (1.0,), "dims": (20, 40, 80), "loads_relative": (0.8, 0.9, 1.0, 1.1, 1.2),
              "trials": 40},
    "paper": {"psis": (0.5, 1.0, 2.0), "dims": (40, 80, 160),
              "loads_relative": (0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2), "trials": 120},
}
TEACHER_GRIDS["full"] = {**TEACHER_GRIDS["paper"], "dims": (40, 80, 160, 320), "trials": 400}
#: Root seeds: quick the old shared root; paper and full drawn fresh for registration 2 of
#: ``S1.teacher-threshold``.
TEACHER_ROOT_SEEDS = {"quick": 5_772, "paper": 2_142_158_066, "full": 1_330_095_351}


def teacher_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of the teacher sweep: loads relative to the predicted transition,
    :func:`teacher_grid_centre`, at every psi and size."""
    grid = TEACHER_GRIDS[scale]
    points = []
    for psi in grid["psis"]:
        loads = tuple(round(r * teacher_grid_centre(psi), 4) for r in grid["loads_relative"])
        for d in grid["dims"]:
            for load in loads:
                points.append({"input_dim": d, "psi": psi, "load": load,
                               "trials": grid["trials"],
                               "seed": derive_seed(root_seed, d, round(100 * psi),
                                                   round(10_000 * load))})
    return points


@functools.cache
def teacher_grid_centre(psi: float) -> float:
    """Where the teacher grids are centred: the predicted phi_c(psi), rounded to 4 decimals.

    The prediction is :func:`jamming.theory.teacher.random_features_sign_teacher_phi_c`
    (ReLU features). Rounding keeps the grid's parameters, and so the store's record keys,
    stable under changes of the prediction in its last digits (2.3597, 2.8333 and 3.8834 at
    psi = 0.5, 1 and 2).
    """
    return round(random_features_sign_teacher_phi_c(psi, "relu"), 4)


TEACHER_SWEEP = SweepSpec(
    name="teacher-separability",
    function=teacher_separability_trials,
    version="1",
    grid=teacher_grid,
    root_seeds=TEACHER_ROOT_SEEDS,
    description="LP separability of sign-teacher labels on random ReLU features (S1)",
)
