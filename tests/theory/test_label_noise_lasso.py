"""The label-noise Lasso: exactness (KKT, an independent solver, closed forms) and its link
with the stationary Fokker-Planck law of the one-dimensional model."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize

from jamming.theory.label_noise_lasso import (
    label_noise_lasso,
    label_noise_lasso_weights,
    weighted_lasso,
)
from jamming.theory.sde import label_noise_stationary_second_moment


def _sparse_problem(seed=0, n=30, d=60, r=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    beta = np.zeros(d)
    beta[rng.choice(d, r, replace=False)] = rng.choice([-1.0, 1.0], r) * (1 + rng.random(r))
    return X, X @ beta + 0.1 * rng.standard_normal(n)


def _split_variable_solution(X, y, w, nonnegative):
    """Independent solver: beta = p - q with p, q >= 0, smooth objective, L-BFGS-B."""
    n, d = X.shape

    def objective(pq):
        p, q = pq[:d], pq[d:]
        r = X @ (p - q) - y
        g = X.T @ r / n
        return r @ r / (2 * n) + w @ (p + q), np.concatenate([g + w, -g + w])

    bounds = [(0, None)] * d + [(0, 0) if nonnegative else (0, None)] * d
    res = minimize(objective, np.zeros(2 * d), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 50_000})
    return res.x[:d] - res.x[d:], res.fun


@pytest.mark.parametrize("nonnegative", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_lasso_satisfies_kkt_and_matches_an_independent_solver(seed, nonnegative):
    X, y = _sparse_problem(seed)
    w = 0.05 * (1 + np.random.default_rng(seed + 10).random(X.shape[1]))
    sol = weighted_lasso(X, y, w, nonnegative=nonnegative)
    assert sol.kkt_violation < 1e-8
    if nonnegative:
        assert np.all(sol.beta >= 0)
    other, other_value = _split_variable_solution(X, y, w, nonnegative)
    r = X @ sol.beta - y
    value = r @ r / (2 * X.shape[0]) + w @ np.abs(sol.beta)
    assert value <= other_value + 1e-12
    assert_allclose(sol.beta, other, atol=1e-5)


def test_orthogonal_design_is_soft_thresholding():
    n, d = 16, 8
    q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((n, d)))
    X = np.sqrt(n) * q  # X^T X / n = I
    y = X @ np.array([2.0, -1.0, 0.3, -0.05, 0.0, 1.5, -0.2, 0.08])
    w = np.full(d, 0.25)
    z = X.T @ y / n
    expected = np.sign(z) * np.maximum(np.abs(z) - w, 0.0)
    sol = weighted_lasso(X, y, w)
    assert_allclose(sol.beta, expected, atol=1e-13)
    assert set(sol.support) == set(np.flatnonzero(expected))


def test_one_dimensional_lasso_is_the_fokker_planck_mean_of_theta_squared():
    """beta = theta^2, y = x theta*^2: the non-negative Lasso gives theta*^2 - eta delta,
    the mean of theta^2 under the stationary density of the label-noise SDE."""
    x = np.linspace(0.5, 1.5, 25)
    theta_star, eta, delta = 1.3, 0.2, 0.4
    sol = label_noise_lasso(x[:, None], x * theta_star**2, eta, delta, parametrisation="u2")
    assert_allclose(sol.beta[0], label_noise_stationary_second_moment(theta_star, eta, delta),
                    rtol=1e-12)
    assert_allclose(sol.beta[0], theta_star**2 - eta * delta, rtol=1e-12)


def test_weights_scale_with_column_norms():
    X = np.array([[1.0, 2.0], [3.0, 0.5]])
    assert_allclose(label_noise_lasso_weights(X, 0.1, 0.5), 0.05 * np.array([5.0, 2.125]))


def test_nonnegative_lasso_zeroes_negative_coordinates():
    X, y = _sparse_problem(4)
    signed = label_noise_lasso(X, y, 0.1, 0.2)
    positive = label_noise_lasso(X, y, 0.1, 0.2, parametrisation="u2")
    assert np.any(signed.beta < 0) and np.all(positive.beta >= 0)


@pytest.mark.parametrize("call, message", [
    (lambda: label_noise_lasso_weights(np.ones((3, 2)), 0.0, 1.0), "eta"),
    (lambda: label_noise_lasso_weights(np.ones((3, 2)), 1.0, -1.0), "delta"),
    (lambda: weighted_lasso(np.ones((3, 2)), np.ones(2), np.ones(2)), "y must have shape"),
    (lambda: weighted_lasso(np.ones((3, 2)), np.ones(3), np.zeros(2)), "weights"),
    (lambda: weighted_lasso(np.zeros((3, 2)), np.ones(3), np.ones(2)), "zero column"),
    (lambda: label_noise_lasso(np.ones((3, 2)), np.ones(3), 1.0, 1.0, parametrisation="uv"),
     "parametrisation"),
])
def test_invalid_inputs_name_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()
