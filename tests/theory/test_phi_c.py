"""The phi_c entry point: every model/loss/label combination and its errors."""

from __future__ import annotations

import math

import pytest

from jamming.theory.parameters import effective_parameters
from jamming.theory.phi_c import phi_c
from jamming.theory.teacher import random_features_sign_teacher_phi_c


@pytest.mark.parametrize("model", ["gaussian", "random-features"])
@pytest.mark.parametrize("labels", ["random", "teacher"])
def test_square_loss_interpolates_up_to_phi_one(model, labels):
    result = phi_c(model, "square", labels, width=40, input_dim=20)
    assert result.phi_c == 1.0 and result.n_eff == 40 and result.n_data == 40.0


@pytest.mark.parametrize("loss", ["hinge", "quadratic-hinge"])
def test_random_labels_jam_at_two(loss):
    assert phi_c("gaussian", loss, "random").phi_c == 2.0
    ntk = phi_c("ntk", loss, "random", input_dim=10, width=30)
    assert ntk.n_eff == effective_parameters(10, 30).n_eff == 300  # bias-free ReLU: h d
    assert ntk.n_data == 600.0


def test_teacher_labels():
    assert math.isinf(phi_c("gaussian", "hinge", "teacher").phi_c)
    by_psi = phi_c("random-features", "hinge", "teacher", features_per_dim=2.0, input_dim=50)
    by_sizes = phi_c("random-features", "hinge", "teacher", width=100, input_dim=50)
    assert by_psi == by_sizes and by_psi.n_eff == 100
    assert by_psi.phi_c == random_features_sign_teacher_phi_c(2.0, "relu")
    assert 2.0 < phi_c("random-features", "hinge", "teacher", features_per_dim=1.0).phi_c < 3.0


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "svm"}, "model must be one of"),
    ({"loss": "logistic"}, "loss must be one of"),
    ({"labels": "noisy"}, "labels must be one of"),
    ({"model": "ntk"}, "needs input_dim and width"),
    ({"model": "ntk", "labels": "teacher", "input_dim": 5, "width": 5}, "open question"),
    ({"model": "random-features", "labels": "teacher"}, "needs features_per_dim"),
    ({"model": "random-features", "features_per_dim": 2.0, "input_dim": 10, "width": 7},
     "contradicts"),
    ({"features_per_dim": 0.0}, "features_per_dim must be"),
])
def test_invalid_combinations(kwargs, message):
    with pytest.raises(ValueError, match=message):
        phi_c(**kwargs)
