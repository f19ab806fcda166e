"""Function-space fixed points against closed forms, scipy, and the flow's own linearisation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.linalg import expm
from scipy.optimize import minimize

from jamming.theory.function_space import (
    count_zero_modes,
    kernel_flow_fixed_point,
    linearised_spectrum,
    loss_gradient,
    loss_value,
    range_basis,
)
from jamming.theory.random_matrix import (
    edelman_hard_edge_mean,
    marchenko_pastur_edges,
    smallest_nonzero_eigenvalue,
)


def random_problem(n_data, n_eff, seed, labels=False):
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_data, n_eff))
    y = rng.choice([-1.0, 1.0], n_data) if labels else rng.standard_normal(n_data)
    return features @ features.T / n_eff, y, 0.3 * rng.standard_normal(n_data)


@pytest.mark.parametrize("n_data, n_eff", [(30, 10), (20, 20), (10, 30)])
def test_square_loss_fixed_point_is_the_long_time_limit_of_the_closed_form(n_data, n_eff):
    kernel, y, f0 = random_problem(n_data, n_eff, 1)
    point = kernel_flow_fixed_point(kernel, y, f0, "square")
    values = np.linalg.eigvalsh(kernel)
    time = 60.0 / values[values > 1e-9 * values[-1]].min()  # e^-60 on the slowest mode
    late = y + expm(-kernel * time) @ (f0 - y)
    assert_allclose(point.f, late, atol=1e-8)
    assert point.rank == min(n_data, n_eff)
    assert point.zero_modes == n_data - min(n_data, n_eff)
    assert_allclose(kernel @ loss_gradient(point.f, y, "square"), 0, atol=1e-10)


@pytest.mark.parametrize("n_data, n_eff, seed", [(40, 10, 2), (30, 15, 3), (12, 20, 4)])
def test_hinge_fixed_point_minimises_the_loss_on_the_subspace(n_data, n_eff, seed):
    kernel, y, f0 = random_problem(n_data, n_eff, seed, labels=True)
    point = kernel_flow_fixed_point(kernel, y, f0, "quadratic-hinge")
    basis = range_basis(kernel)

    def objective(c):
        f = f0 + basis @ c
        return loss_value(f, y, "quadratic-hinge"), basis.T @ loss_gradient(f, y,
                                                                           "quadratic-hinge")

    reference = minimize(objective, np.zeros(basis.shape[1]), jac=True, method="L-BFGS-B",
                         options={"gtol": 1e-13, "ftol": 1e-16, "maxiter": 10_000})
    assert point.loss <= reference.fun + 1e-10
    assert_allclose(point.loss, reference.fun, rtol=1e-7, atol=1e-12)
    assert_allclose(basis @ (basis.T @ (point.f - f0)), point.f - f0, atol=1e-10)
    assert_allclose(kernel @ loss_gradient(point.f, y, "quadratic-hinge"), 0, atol=1e-9)
    if point.loss > 0:  # unique minimiser: zero modes N - rank(D K D)
        active = point.hessian_diagonal > 0
        rank = np.linalg.matrix_rank(kernel[np.ix_(active, active)])
        assert point.zero_modes == n_data - rank


def test_linearised_spectrum_matches_the_nonsymmetric_product():
    kernel, _, _ = random_problem(15, 6, 5)
    diagonal = (np.arange(15) % 3 != 0).astype(float)
    direct = np.sort(np.linalg.eigvals(-0.7 * kernel @ np.diag(diagonal)).real)
    spectrum = linearised_spectrum(kernel, diagonal, eta=0.7)
    assert_allclose(spectrum, direct, atol=1e-10)
    assert np.all(spectrum <= 1e-12)
    assert count_zero_modes(spectrum) == 15 - np.linalg.matrix_rank(
        kernel[np.ix_(diagonal > 0, diagonal > 0)])


def test_inputs_are_validated():
    kernel, y, f0 = random_problem(5, 3, 0)
    with pytest.raises(ValueError, match="loss must be one of"):
        kernel_flow_fixed_point(kernel, y, f0, "hinge")
    with pytest.raises(ValueError, match="labels -1 or \\+1"):
        kernel_flow_fixed_point(kernel, y, f0, "quadratic-hinge")
    with pytest.raises(ValueError, match="square matrix"):
        kernel_flow_fixed_point(kernel[:3], y, f0)
    with pytest.raises(ValueError, match="f0 must have shape"):
        kernel_flow_fixed_point(kernel, y, f0[:2])


def test_marchenko_pastur_edges_against_a_large_sample():
    rng = np.random.default_rng(3)
    n_eff = 1000
    phi = 0.5
    features = rng.standard_normal((int(phi * n_eff), n_eff))
    values = np.linalg.eigvalsh(features @ features.T / n_eff)
    low, high = marchenko_pastur_edges(phi)
    assert abs(values[0] - low) < 0.02 and abs(values[-1] - high) < 0.05
    assert smallest_nonzero_eigenvalue(1.0) == 0.0
    assert smallest_nonzero_eigenvalue(4.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="phi must be"):
        marchenko_pastur_edges(-1.0)


def test_edelman_mean_against_its_own_law_by_monte_carlo():
    """Sampling x from P(x) = 1 - exp(-x/2 - sqrt x) by inversion reproduces the mean."""
    rng = np.random.default_rng(0)
    u = rng.random(200_000)
    root = -1.0 + np.sqrt(1.0 - 2.0 * np.log(1.0 - u))  # solves x/2 + sqrt(x) = -log(1-u)
    samples = root**2
    standard_error = samples.std() / np.sqrt(samples.size)
    assert abs(samples.mean() - edelman_hard_edge_mean()) < 4 * standard_error


def test_square_loss_flow_against_expm_and_the_linear_model():
    """f(t) against scipy's expm, and train/test outputs against the exact flow of a linear
    model in feature space (w' = -eta Phi^T (Phi w - y)), integrated by expm in w-space."""
    from jamming.theory.function_space import square_loss_flow

    rng = np.random.default_rng(5)
    features = rng.standard_normal((6, 4))          # rank 4 < 6: K singular
    test_features = rng.standard_normal((3, 4))
    kernel, cross = features @ features.T, test_features @ features.T
    w0, y, eta = rng.standard_normal(4), rng.standard_normal(6), 0.3
    f0, f0_test = features @ w0, test_features @ w0
    times = np.array([0.0, 0.5, 2.0, 10.0])
    f, f_test = square_loss_flow(kernel, y, f0, times, eta, kernel_test_train=cross,
                                 f0_test=f0_test)
    gram = features.T @ features
    for i, t in enumerate(times):
        assert_allclose(f[i], y + expm(-eta * kernel * t) @ (f0 - y), atol=1e-12)
        # w(t) = w* + e^{-eta G t}(w0 - w*) on range(G) = all of R^4 here (G invertible)
        w_star = np.linalg.solve(gram, features.T @ y)
        w = w_star + expm(-eta * gram * t) @ (w0 - w_star)
        assert_allclose(f[i], features @ w, atol=1e-10)
        assert_allclose(f_test[i], test_features @ w, atol=1e-10)
    with pytest.raises(ValueError, match="eta"):
        square_loss_flow(kernel, y, f0, times, eta=0.0)
