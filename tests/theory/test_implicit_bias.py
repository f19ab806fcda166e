"""Implicit bias of diagonal linear networks: KKT, an independent solver, limits, simulation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize

from jamming.theory.implicit_bias import (
    min_l1_interpolator,
    min_l2_interpolator,
    q_alpha,
    q_alpha_gradient,
    q_alpha_interpolator,
    q_potential,
    uv_interpolator,
)


def _problem(n=5, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    return X, y


def _sparse(seed=1):
    rng = np.random.default_rng(seed)
    n, d = 20, 50
    X = rng.standard_normal((n, d))
    beta_star = np.zeros(d)
    beta_star[[3, 17, 41]] = [1.0, -2.0, 1.5]
    return X, X @ beta_star, beta_star


def test_q_potential_closed_form_and_derivative():
    z = np.array([-50.0, -3.0, -0.5, -1e-3, 0.0, 1e-6, 0.02, 1.0, 7.0, 1e4])
    ref = 2 - np.sqrt(4 + z**2) + z * np.arcsinh(z / 2)
    assert_allclose(q_potential(z), ref, rtol=1e-9, atol=1e-15)
    h = 1e-6
    zz = np.array([-3.0, -0.4, 0.3, 2.0, 9.0])
    fd = (q_potential(zz + h) - q_potential(zz - h)) / (2 * h)
    assert_allclose(fd, np.arcsinh(zz / 2), rtol=1e-7)


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 1.0, 10.0])
def test_kkt_feasibility_and_stationarity(alpha):
    X, y = _problem()
    beta = q_alpha_interpolator(X, y, alpha)
    assert np.max(np.abs(X @ beta - y)) < 1e-10
    grad = q_alpha_gradient(beta, alpha)
    # grad Q_alpha(beta) must lie in range(X^T): its projection residual vanishes
    nu, *_ = np.linalg.lstsq(X.T, grad, rcond=None)
    assert np.linalg.norm(X.T @ nu - grad) <= 1e-9 * max(1.0, np.linalg.norm(grad))


@pytest.mark.parametrize("alpha", [0.3, 1.0, 3.0])
def test_agrees_with_independent_constrained_solver(alpha):
    X, y = _problem(n=3, d=7, seed=2)
    beta = q_alpha_interpolator(X, y, alpha)
    res = minimize(
        lambda b: q_alpha(b, alpha),
        min_l2_interpolator(X, y),
        jac=lambda b: q_alpha_gradient(b, alpha),
        constraints=[{"type": "eq", "fun": lambda b: X @ b - y, "jac": lambda b: X}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 500},
    )
    assert res.success
    assert_allclose(beta, res.x, atol=1e-6)
    assert q_alpha(beta, alpha) <= q_alpha(res.x, alpha) + 1e-12


def test_large_alpha_approaches_min_l2_like_alpha_minus_4():
    X, y = _problem()
    l2 = min_l2_interpolator(X, y)
    assert_allclose(l2, np.linalg.pinv(X) @ y, atol=1e-12)
    alphas = np.array([3.0, 10.0, 30.0, 100.0])
    errs = np.array([np.linalg.norm(q_alpha_interpolator(X, y, a) - l2) for a in alphas])
    # Q_alpha = |b|^2/(4 a^2) - sum b^4/(192 a^6) + ...: relative correction O(a^-4)
    slopes = np.diff(np.log(errs)) / np.diff(np.log(alphas))
    assert_allclose(slopes[1:], -4.0, atol=0.05)
    assert errs[-1] < 1e-6


def test_small_alpha_approaches_min_l1_and_recovers_sparse_support():
    X, y, beta_star = _sparse()
    l1 = min_l1_interpolator(X, y)
    assert_allclose(l1, beta_star, atol=1e-8)  # exact recovery at n=20, d=50, 3-sparse
    alphas = [1e-1, 1e-2, 1e-4, 1e-8]
    errs = []
    for a in alphas:
        beta = q_alpha_interpolator(X, y, a)
        assert np.max(np.abs(X @ beta - y)) < 1e-10
        errs.append(np.max(np.abs(beta - l1)))
    assert np.all(np.diff(errs) < 0)
    # measured: 0.92, 0.26, 1.0e-2, 1.6e-5 (and 3.7e-11 at alpha = 1e-16)
    assert errs[-1] < 1e-4
    assert np.max(np.abs(q_alpha_interpolator(X, y, 1e-16) - l1)) < 1e-9
    beta = q_alpha_interpolator(X, y, 1e-8)
    assert set(np.flatnonzero(np.abs(beta) > 1e-3)) == {3, 17, 41}
    # extreme scales stay finite and feasible
    for a in (1e-50, 1e100):
        b = q_alpha_interpolator(X, y, a)
        assert np.max(np.abs(X @ b - y)) < 1e-9
    assert_allclose(q_alpha_interpolator(X, y, 1e-50), l1, atol=1e-9)
    assert_allclose(q_alpha_interpolator(X, y, 1e100), min_l2_interpolator(X, y), atol=1e-12)


def _gd_uu_vv(X, y, alpha, lr, steps):
    u = np.full(X.shape[1], alpha)
    v = np.full(X.shape[1], alpha)
    for _ in range(steps):
        g = X.T @ (X @ (u * u - v * v) - y)
        u, v = u - lr * 2 * u * g, v + lr * 2 * v * g
    return u * u - v * v


def _gd_uv(X, y, u0, lr, steps):
    u = np.full(X.shape[1], u0)
    v = np.zeros(X.shape[1])
    for _ in range(steps):
        g = X.T @ (X @ (u * v) - y)
        u, v = u - lr * v * g, v - lr * u * g
    return u * v


def test_gradient_descent_converges_to_q_alpha_interpolator():
    X, y = _problem(n=2, d=4, seed=3)
    alpha = 0.3
    target = q_alpha_interpolator(X, y, alpha)
    errs = []
    for lr in (4e-3, 1e-3):
        beta = _gd_uu_vv(X, y, alpha, lr, int(40 / lr))
        assert np.max(np.abs(X @ beta - y)) < 1e-8
        errs.append(np.linalg.norm(beta - target))
    # GD discretisation error is O(lr): shrinks ~4x when lr does
    assert errs[1] < 2e-3 and errs[1] < errs[0] / 2.5
    # the product parametrisation u*v from (u, v) = (2 alpha, 0): the same limit
    beta_uv = _gd_uv(X, y, 2 * alpha, 5e-4, 80_000)
    assert_allclose(beta_uv, uv_interpolator(X, y, 2 * alpha), atol=2e-3)
    assert_allclose(uv_interpolator(X, y, 2 * alpha), target, atol=1e-14)


def test_rank_deficient_but_consistent_rows():
    X, y = _problem()
    X2 = np.vstack([X, X[0] + X[1]])
    y2 = np.append(y, y[0] + y[1])
    assert_allclose(q_alpha_interpolator(X2, y2, 0.5), q_alpha_interpolator(X, y, 0.5),
                    atol=1e-10)


def test_validation_messages():
    X, y = _problem()
    with pytest.raises(ValueError, match=r"alpha must be a real number in \(0, inf\)"):
        q_alpha_interpolator(X, y, 0.0)
    with pytest.raises(ValueError, match="alpha must be"):
        q_alpha_interpolator(X, y, np.inf)
    with pytest.raises(TypeError, match="alpha must be"):
        q_alpha_interpolator(X, y, "big")
    with pytest.raises(ValueError, match="alpha_uv must be"):
        uv_interpolator(X, y, -1.0)
    with pytest.raises(ValueError, match=r"X must be a 2-d array"):
        min_l2_interpolator(y, y)
    with pytest.raises(ValueError, match=r"y must be a 1-d array of shape \(n,\) = \(5,\)"):
        min_l1_interpolator(X, y[:3])
    with pytest.raises(ValueError, match="finite"):
        q_alpha_interpolator(X, np.full(5, np.nan), 1.0)
    X2 = np.vstack([X, X[0]])
    with pytest.raises(ValueError, match="has no solution"):
        q_alpha_interpolator(X2, np.append(y, y[0] + 1.0), 1.0)
