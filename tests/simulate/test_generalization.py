"""Vanishing-ridge solutions and the nested-training-set sweep of S1.test-cusp."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import minimize

from jamming.simulate.data import gaussian_features, random_labels
from jamming.simulate.generalization import (
    hard_margin_weights,
    last_separable_size,
    margin_rounding,
    paired_excess_z,
    pointwise_quadratic_hinge,
    vanishing_ridge_weights,
)
from jamming.simulate.hinge import solve_quadratic_hinge
from jamming.simulate.separability import is_linearly_separable


def separable_problem(n_data, n_eff, seed):
    rng = np.random.default_rng(seed)
    features = gaussian_features(n_data, n_eff, rng)
    return features, random_labels(n_data, rng)


@pytest.mark.parametrize("n_data, n_eff, seed", [(8, 10, 0), (15, 10, 1), (30, 20, 2)])
def test_hard_margin_solves_the_svm_quadratic_program(n_data, n_eff, seed):
    """Against the dual QP by L-BFGS-B (max 1.lambda - |Z^T lambda|^2/2, lambda >= 0), KKT."""
    features, labels = separable_problem(n_data, n_eff, seed)
    z = labels[:, None] * features
    w = hard_margin_weights(features, labels)
    gram = z @ z.T
    dual = minimize(lambda lam: (0.5 * lam @ gram @ lam - lam.sum(), gram @ lam - 1),
                    np.zeros(n_data), jac=True, method="L-BFGS-B", bounds=[(0, None)] * n_data,
                    options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 10_000})
    # strong duality: the dual optimum is -|w|^2 / 2
    np.testing.assert_allclose(dual.fun, -0.5 * w @ w, rtol=1e-9)
    # L-BFGS-B is tolerance-limited; the KKT checks below are the exact ones
    assert np.linalg.norm(w - z.T @ dual.x) <= 1e-6 * np.linalg.norm(w)
    margins = z @ w
    assert margins.min() >= 1 - 1e-12
    support = margins < 1 + 1e-9
    multipliers = np.linalg.lstsq(z[support].T, w, rcond=None)[0]  # w = z_S^T lambda
    np.testing.assert_allclose(z[support].T @ multipliers, w, atol=1e-10)
    assert multipliers.min() > -1e-10


def test_hard_margin_is_the_vanishing_ridge_limit_of_the_hinge_minimiser():
    """|w_rho - w_svm| = O(rho): the quadratic-hinge minimiser with ridge rho converges."""
    features, labels = separable_problem(30, 20, 3)
    w = hard_margin_weights(features, labels)
    gaps = [np.linalg.norm(solve_quadratic_hinge(features, labels, ridge=rho).w - w)
            for rho in (1e-4, 1e-5, 1e-6)]
    assert gaps[2] < gaps[1] < gaps[0]
    assert gaps[2] / np.linalg.norm(w) < 1e-3
    np.testing.assert_allclose(gaps[0] / gaps[1], 10, rtol=0.1)  # linear in rho


def test_hard_margin_refuses_non_separable_data():
    features, labels = separable_problem(60, 10, 4)
    assert not is_linearly_separable(features, labels)
    with pytest.raises(ValueError, match="not linearly separable"):
        hard_margin_weights(features, labels)
    with pytest.raises(ValueError, match="shape"):
        hard_margin_weights(features, labels[:-1])


def test_vanishing_ridge_weights_on_both_sides():
    features, labels = separable_problem(12, 10, 5)
    w, sat = vanishing_ridge_weights(features, labels)
    assert sat and np.array_equal(w, hard_margin_weights(features, labels))
    features, labels = separable_problem(60, 10, 6)
    w, sat = vanishing_ridge_weights(features, labels)
    assert not sat
    np.testing.assert_array_equal(w, solve_quadratic_hinge(features, labels).w)


def test_last_separable_size_agrees_with_least_distance_programming():
    features, labels = separable_problem(80, 15, 7)
    n_star = last_separable_size(features, labels)
    hard_margin_weights(features[:n_star], labels[:n_star])  # separable: a certified w
    with pytest.raises(ValueError, match="not linearly separable"):
        hard_margin_weights(features[:n_star + 1], labels[:n_star + 1])
    with pytest.raises(ValueError, match="all 10 points are separable"):
        last_separable_size(features[:10], labels[:10])


def test_last_separable_size_falls_back_to_the_lp_when_the_solver_is_wrong(monkeypatch):
    import jamming.simulate.generalization as generalization

    features, labels = separable_problem(80, 15, 9)
    expected = last_separable_size(features, labels)
    wrong = dataclasses.replace(solve_quadratic_hinge(features, labels), sat=False)
    monkeypatch.setattr(generalization, "_exact_solution", lambda *a, **k: wrong)
    assert last_separable_size(features, labels) == expected


def test_unsat_minimiser_is_checked(monkeypatch):
    """A solver answer that breaks the isostatic bound is refused, not used."""
    import jamming.simulate.generalization as generalization

    features, labels = separable_problem(60, 10, 6)
    honest = solve_quadratic_hinge(features, labels)
    assert honest.n_delta >= 11
    broken = dataclasses.replace(honest, n_delta=np.int64(5))
    monkeypatch.setattr(generalization, "_exact_solution", lambda *a, **k: broken)
    with pytest.raises(RuntimeError, match="N_Delta 5"):
        vanishing_ridge_weights(features, labels)


def test_unsat_minimum_of_features_not_in_general_position_is_accepted():
    """N_Delta = rank + 1 < N_eff + 1: a contradicting pair on one axis, two idle features.

    The positive dependence of the active features needs rank + 1 of them, not N_eff + 1
    (ReLU features are not in general position; the old check refused such minima)."""
    features = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.0, 0.0]])
    labels = np.array([1.0, -1.0, -1.0])
    w, sat = vanishing_ridge_weights(features, labels)
    assert not sat and w.shape == (3,)
    # minimise (1 - a)^2 + (1 + a)^2 + (1 + a / 2)^2 over a = w_0: 4.5 a + 1 = 0
    np.testing.assert_allclose(w[0], -2 / 9, rtol=1e-12)


def _cusp_prefix(seed, n_data, input_dim=20, psi=0.5, max_load=5.8993):
    """The first ``n_data`` training points of a teacher-test-cusp instance (N_eff = 10)."""
    from jamming.simulate.features import random_feature_map

    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((round(psi * input_dim), input_dim))
    teacher = rng.standard_normal(input_dim)
    inputs = rng.standard_normal((round(max_load * round(psi * input_dim)), input_dim))
    features, labels = random_feature_map(inputs, weights), np.sign(inputs @ teacher)
    return features[:n_data], labels[:n_data]


@pytest.mark.parametrize("seed, n_data, norm", [(9112491278473923594, 32, 224.34044276),
                                                (5522419294579879870, 35, 121697.9)])
def test_hard_margin_certifies_a_support_point_with_one_small_feature(seed, n_data, norm):
    """Regression (found by a hunt over 200 000 prefixes): a support vector with a single
    small active ReLU feature (|z| ~ 1e-3) broke the margin certificate by rounding of the
    unscaled SVD solve; the LP says separable."""
    features, labels = _cusp_prefix(seed, n_data)
    z = labels[:, None] * features
    assert is_linearly_separable(features, labels) and np.linalg.norm(z, axis=1).min() < 1e-2
    w = hard_margin_weights(features, labels)
    np.testing.assert_allclose(np.linalg.norm(w), norm, rtol=1e-6)
    assert np.all(z @ w >= 1 - margin_rounding(z, w))


def test_a_point_with_all_features_zero_leaves_the_limit_of_the_others():
    features, labels = _cusp_prefix(6135169830922887906, 18)
    zero = ~np.any(features, axis=1)
    assert np.flatnonzero(zero).tolist() == [11] and not is_linearly_separable(features, labels)
    w, sat = vanishing_ridge_weights(features, labels, separable=False)
    assert not sat
    np.testing.assert_array_equal(w, hard_margin_weights(features[~zero], labels[~zero]))


def test_paired_excess_z():
    rng = np.random.default_rng(8)
    base = rng.exponential(size=5000)
    losses = np.stack([base, base, base + 0.1 + 0.2 * rng.standard_normal(5000)])
    z = paired_excess_z(losses, reference=0)
    assert z[0] == 0 and z[1] == 0
    np.testing.assert_allclose(z[2], 0.1 / (0.2 / np.sqrt(5000)), rtol=0.1)


def test_pointwise_quadratic_hinge():
    features = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    labels = np.array([1.0, -1.0, 1.0])
    np.testing.assert_allclose(pointwise_quadratic_hinge(features, labels, np.array([0.5, 1.0])),
                               [0.125, 4.5, 0.0])
