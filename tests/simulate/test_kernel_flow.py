"""Kernel-flow integrator against the exact solution; Gram spectra against direct numpy."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.linalg import expm

from jamming.simulate.kernel_flow import integrate_kernel_flow
from jamming.simulate.spectra import smallest_nonzero_gram_eigenvalue


def test_square_loss_follows_the_matrix_exponential():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((12, 5))
    kernel, y, f0 = features @ features.T / 5, rng.standard_normal(12), rng.standard_normal(12)
    result = integrate_kernel_flow(kernel, y, f0, "square", eta=0.5, until=3.0)
    assert_allclose(result.f, y + expm(-0.5 * kernel * 3.0) @ (f0 - y), atol=1e-12)


def rk4_reference(kernel, y, f, time, steps=20_000):
    """Classical RK4 for the quadratic hinge (an independent, explicit integrator)."""
    def velocity(state):
        return kernel @ (y * np.maximum(1.0 - y * state, 0.0))

    dt = time / steps
    for _ in range(steps):
        k1 = velocity(f)
        k2 = velocity(f + dt / 2 * k1)
        k3 = velocity(f + dt / 2 * k2)
        k4 = velocity(f + dt * k3)
        f = f + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return f


@pytest.mark.parametrize("time", [0.5, 3.0])
def test_hinge_flow_through_active_set_changes_matches_rk4(time):
    rng = np.random.default_rng(4)
    features = rng.standard_normal((25, 10))
    kernel = features @ features.T / 10
    y, f0 = rng.choice([-1.0, 1.0], 25), rng.standard_normal(25)
    result = integrate_kernel_flow(kernel, y, f0, "quadratic-hinge", until=time)
    assert result.events >= 1  # the active set changed on the way
    assert_allclose(result.f, rk4_reference(kernel, y, f0.copy(), time), atol=1e-9)


def test_flow_converges_and_stays_on_the_affine_subspace():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((30, 10))
    kernel = features @ features.T / 10
    y, f0 = rng.choice([-1.0, 1.0], 30), 0.2 * rng.standard_normal(30)
    result = integrate_kernel_flow(kernel, y, f0, "quadratic-hinge")
    assert result.converged and result.speed <= 1e-12
    projector = features @ np.linalg.pinv(features)
    assert_allclose(projector @ (result.f - f0), result.f - f0, atol=1e-10)


@pytest.mark.parametrize("shape", [(7, 3), (5, 5), (3, 9)])
def test_smallest_nonzero_eigenvalue_against_the_full_gram(shape):
    features = np.random.default_rng(2).standard_normal(shape)
    values = np.linalg.eigvalsh(features @ features.T / shape[1])
    nonzero = values[values > 1e-10 * values[-1]]
    assert_allclose(smallest_nonzero_gram_eigenvalue(features), nonzero.min(), rtol=1e-9)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="loss must be one of"):
        integrate_kernel_flow(np.eye(2), np.ones(2), np.zeros(2), "hinge")
    with pytest.raises(ValueError, match="eta must be > 0"):
        integrate_kernel_flow(np.eye(2), np.ones(2), np.zeros(2), eta=0.0)
