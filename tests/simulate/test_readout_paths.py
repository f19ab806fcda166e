"""Vanishing-ridge linear models along nested prefixes: counts, test loss, alignment."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.simulate.generalization import (
    hard_margin_weights,
    last_separable_size,
    pointwise_quadratic_hinge,
    vanishing_ridge_weights,
)
from jamming.simulate.readout_paths import (
    PATH_FIELDS,
    explained_label_variance,
    kernel_target_alignment,
    support_vectors,
    vanishing_ridge_path,
)


def test_kernel_target_alignment_is_that_of_the_explicit_centred_gram_matrix():
    rng = np.random.default_rng(0)
    features, labels = rng.random((40, 6)), np.sign(rng.standard_normal(40))
    n = len(labels)
    centring = np.eye(n) - np.ones((n, n)) / n
    kernel = centring @ features @ features.T @ centring
    target = np.outer(labels, labels)
    expected = np.sum(kernel * target) / (np.linalg.norm(kernel) * np.linalg.norm(target))
    assert kernel_target_alignment(features, labels) == pytest.approx(expected, rel=1e-12)
    # features that are the (balanced) labels themselves: K_c = y y^T, alignment 1
    balanced = np.array([1.0, -1.0] * 10)
    assert kernel_target_alignment(balanced[:, None], balanced) == pytest.approx(1.0)
    assert kernel_target_alignment(np.ones((5, 2)), balanced[:5]) == 0.0
    with pytest.raises(ValueError, match="features must have shape"):
        kernel_target_alignment(features, labels[:-1])


def test_explained_label_variance_is_the_out_of_sample_r2_of_least_squares():
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(1)
    features, test_features = rng.standard_normal((200, 5)), rng.standard_normal((300, 5))
    beta = rng.standard_normal(5)
    labels, test_labels = np.sign(features @ beta), np.sign(test_features @ beta)
    fit = LinearRegression().fit(features, labels)
    expected = r2_score(test_labels, fit.predict(test_features))
    assert explained_label_variance(features, labels, test_features, test_labels) == \
        pytest.approx(expected, rel=1e-10)
    # a sign teacher of Gaussian features: R2_y -> 2/pi (Bussgang) up to the fit's noise
    assert abs(expected - 2 / np.pi) < 0.06
    assert explained_label_variance(labels[:, None], labels, test_labels[:, None],
                                    test_labels) == pytest.approx(1.0)


def test_support_vectors_of_a_hand_made_hard_margin_problem():
    features = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [-1.0, -3.0]])
    labels = np.array([1.0, 1.0, 1.0, -1.0])
    w = hard_margin_weights(features, labels)
    np.testing.assert_allclose(w, [1.0, 1.0], atol=1e-12)  # margins 1, 1, 4, 4
    assert support_vectors(features, labels, w).tolist() == [True, True, False, False]


def _instance(n_data, n_eff, seed, n_test=200):
    rng = np.random.default_rng(seed)
    features = np.maximum(rng.standard_normal((n_data + n_test, n_eff)), 0) + 0.1
    labels = np.sign(rng.standard_normal(n_data + n_test))
    return features[:n_data], labels[:n_data], features[n_data:], labels[n_data:]


def test_the_path_is_the_vanishing_ridge_solution_on_both_sides_of_the_transition():
    features, labels, test_features, test_labels = _instance(60, 10, seed=2)
    out = vanishing_ridge_path(features, labels, [5, 10, 30, 60], test_features, test_labels)
    n_star = last_separable_size(features, labels)
    assert out["n_star"] == n_star and not out["censored"]
    assert {n_star, n_star + 1} <= set(out["sizes"].tolist())
    assert out["certified"].all()
    for k, size in enumerate(out["sizes"]):
        w, sat = vanishing_ridge_weights(features[:size], labels[:size])  # one by one
        assert out["sat"][k] == sat
        np.testing.assert_allclose(out["w_norm"][k], np.linalg.norm(w), rtol=1e-7)
        expected = pointwise_quadratic_hinge(test_features, test_labels, w).mean()
        np.testing.assert_allclose(out["test_loss"][k], expected, rtol=1e-6)
        assert out["test_error"][k] == np.mean(test_labels * (test_features @ w) <= 0)
    sat = out["sat"]
    # general position (Gaussian-like features): the two exact bounds
    assert np.all(out["n_sv"][sat] <= out["rank"][sat]) and np.all(out["n_sv"][sat] >= 1)
    assert np.all(out["n_delta"][~sat] >= out["rank"][~sat] + 1)
    assert np.all(out["active_rank"][~sat] == out["rank"][~sat])
    assert np.all(out["active_rank"][sat] == out["n_sv"][sat])  # independent support vectors
    assert np.all(out["n_sv"][~sat] == -1) and np.all(out["n_delta"][sat] == 0)
    assert set(PATH_FIELDS) <= set(out)


def test_a_separable_pool_is_censored():
    features, labels, test_features, test_labels = _instance(8, 10, seed=3)
    out = vanishing_ridge_path(features, labels, [2, 4, 8], test_features, test_labels)
    assert out["censored"] and out["n_star"] == 8 and out["sat"].all()
    assert out["sizes"].tolist() == [2, 4, 8]
