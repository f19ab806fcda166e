"""The phi_c entry point: every model/loss/label combination and its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jamming.theory.activations import REGISTRY, resolve_activation
from jamming.theory.parameters import effective_parameters
from jamming.theory.phi_c import (
    ACTIVATIONS,
    APPLIES_TO,
    MAX_COUNT,
    MODEL_ACTIVATIONS,
    MODELS,
    phi_c,
    random_features_rank,
)
from jamming.theory.teacher import random_features_sign_teacher_phi_c


@pytest.mark.parametrize("model, sizes", [("gaussian", {}),
                                          ("random-features", {"input_dim": 20})])
@pytest.mark.parametrize("labels", ["random", "teacher"])
def test_square_loss_interpolates_up_to_phi_one(model, sizes, labels):
    result = phi_c(model, "square", labels, width=40, **sizes)
    assert result.phi_c == 1.0 and result.n_eff == 40 and result.n_data == 40.0


@pytest.mark.parametrize("loss", ["hinge", "quadratic-hinge"])
def test_random_labels_jam_at_two(loss):
    assert phi_c("gaussian", loss, "random").phi_c == 2.0
    ntk = phi_c("ntk", loss, "random", input_dim=10, width=30)
    assert ntk.n_eff == effective_parameters(10, 30).n_eff == 300  # bias-free ReLU: h d
    assert ntk.n_data == 600.0


def test_teacher_labels():
    assert math.isinf(phi_c("gaussian", "hinge", "teacher").phi_c)
    by_psi = phi_c("random-features", "hinge", "teacher", psi=2.0, input_dim=50)
    by_sizes = phi_c("random-features", "hinge", "teacher", width=100, input_dim=50)
    assert by_psi == by_sizes and by_psi.n_eff == 100
    assert by_psi.phi_c == random_features_sign_teacher_phi_c(2.0, "relu")
    assert 2.0 < phi_c("random-features", "hinge", "teacher", psi=1.0).phi_c < 3.0


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "svm"}, "model must be one of"),
    ({"loss": "logistic"}, "loss must be one of"),
    ({"labels": "noisy"}, "labels must be one of"),
    ({"model": "ntk"}, "needs input_dim and width"),
    ({"model": "ntk", "labels": "teacher", "input_dim": 5, "width": 5}, "open question"),
    ({"model": "random-features", "labels": "teacher"}, "needs psi"),
    ({"model": "random-features", "psi": 2.0, "input_dim": 10, "width": 7},
     "contradicts"),
    ({"model": "random-features", "psi": 0.0}, "psi must be"),
    ({"model": "random-features", "width": 10}, "needs input_dim with width"),
    ({"model": "ntk", "activation": "sign", "input_dim": 3, "width": 3},
     "activation='sign' is not supported by model='ntk'; allowed: relu, tanh, erf, identity"),
    ({"model": "random-features", "activation": "linear"}, "not supported"),
])
def test_invalid_combinations(kwargs, message):
    with pytest.raises(ValueError, match=message):
        phi_c(**kwargs)


@pytest.mark.parametrize("name, value", [("activation", "relu"), ("input_dim", 4),
                                         ("depth", 2), ("bias", True), ("bias", False),
                                         ("psi", 2.0)])
@pytest.mark.parametrize("model", MODELS)
def test_a_parameter_applies_only_to_its_models(model, name, value):
    sizes = {} if model == "gaussian" else {"input_dim": 4}
    kwargs = {"width": 8, **sizes, name: value}
    if model in APPLIES_TO[name]:
        assert phi_c(model, **kwargs).phi_c == 2.0
    else:
        with pytest.raises(ValueError, match=f"^{name} applies only to model="):
            phi_c(model, **kwargs)


def test_defaults_of_the_model_parameters():
    assert phi_c("ntk", input_dim=10, width=30) == phi_c(
        "ntk", activation="relu", input_dim=10, width=30, depth=1, bias=False)
    assert phi_c("random-features", input_dim=10, width=30) == phi_c(
        "random-features", activation="relu", input_dim=10, width=30)


def test_activations_are_the_registry_names_each_model_covers():
    assert set(MODEL_ACTIVATIONS) == set(MODELS) and MODEL_ACTIVATIONS["gaussian"] == ()
    assert ACTIVATIONS == tuple(name for name in REGISTRY
                                if any(name in v for v in MODEL_ACTIVATIONS.values()))
    for model in ("random-features", "ntk"):
        for name in ACTIVATIONS:
            kwargs = {"activation": name, "input_dim": 4, "width": 8}
            if name in MODEL_ACTIVATIONS[model]:
                assert phi_c(model, **kwargs).n_eff >= 1
            else:
                with pytest.raises(ValueError, match="is not supported by model="):
                    phi_c(model, **kwargs)


@pytest.mark.parametrize("activation", MODEL_ACTIVATIONS["random-features"])
@pytest.mark.parametrize("input_dim, width", [(1, 3), (2, 12), (5, 3), (5, 12)])
def test_random_features_rank_is_the_rank_of_the_feature_matrix(activation, input_dim, width):
    """sigma(W x / sqrt d) on 400 Gaussian points: numpy's rank is the generic rank."""
    rng = np.random.default_rng(1)
    inputs = rng.standard_normal((400, input_dim))
    weights = rng.standard_normal((width, input_dim))
    if input_dim == 1:  # relu at d = 1 has rank 2 only if the weights have both signs
        weights[0] = -np.sign(weights[1]) * np.abs(weights[0])
    sigma = resolve_activation(activation).functions()[0]
    features = sigma(inputs @ weights.T / math.sqrt(input_dim))
    assert np.linalg.matrix_rank(features) == random_features_rank(input_dim, width,
                                                                   activation)


def test_identity_random_features_have_rank_min_width_input_dim():
    wide = phi_c("random-features", activation="identity", input_dim=10, width=50)
    assert wide.n_eff == 10 and wide.n_data == 20.0
    assert phi_c("random-features", activation="identity", input_dim=10, width=5).n_eff == 5
    by_psi = phi_c("random-features", "square", activation="identity", input_dim=10,
                   psi=3.0)
    assert by_psi.n_eff == 10 and by_psi.n_data == 10.0
    assert random_features_rank(1, 5, "relu") == 2 and random_features_rank(1, 5, "tanh") == 5
    # a linear network computes a linear (affine with biases) function: N_eff = d + beta
    for bias in (False, True):
        ntk = phi_c("ntk", activation="identity", input_dim=10, width=100, depth=3, bias=bias)
        assert ntk.n_eff == 10 + bias == effective_parameters(
            10, 100, depth=3, activation="identity", bias=bias).n_eff


def test_teacher_labels_refuse_random_features_below_full_rank():
    with pytest.raises(ValueError, match="general position; relu features at input_dim=1"):
        phi_c("random-features", "hinge", "teacher", input_dim=1, width=5)
    # identity features at psi >= 1 have rank d < width, and the labels are realisable
    realisable = phi_c("random-features", "hinge", "teacher", activation="identity",
                       input_dim=10, width=20)
    assert math.isinf(realisable.phi_c) and realisable.n_eff == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"psi": 0.001, "input_dim": 100},
     r"N_eff = psi \* input_dim = 0.001 \* 100 = 0.1 rounds to 0 features; "
     r"psi must be > 0.005 at input_dim=100"),
    ({"psi": 1e300, "input_dim": 100}, "psi must be a finite"),
    ({"psi": 1e300, "labels": "teacher"}, "psi must be a finite"),
    ({"psi": 2.0**40, "input_dim": 2**20}, r"must be <= 2\*\*53"),
    ({"psi": math.nan}, "psi must be a finite"),
    ({"psi": math.inf, "labels": "teacher"}, "psi must be a finite"),
    ({"psi": -1.0}, "psi must be a finite"),
    ({"width": MAX_COUNT + 1, "input_dim": 3}, r"width must be an integer in \[1, 2\*\*53\]"),
    ({"model": "ntk", "width": 2**30, "input_dim": 2**30}, r"N_eff = \d+ of model='ntk'"),
])
def test_degenerate_sizes_raise_value_error(kwargs, message):
    kwargs = {"model": "random-features", **kwargs}
    with pytest.raises(ValueError, match=message):
        phi_c(**kwargs)
