"""Pieces of the S3 claims: the independent Gaussian integrator and the Monte Carlo sweep."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jamming.compare.kernels import gaussian_expectation
from jamming.sweeps.kernels import (
    KERNEL_MC_GRIDS,
    KERNEL_MC_SWEEP,
    kernel_inputs,
    kernel_monte_carlo_trials,
)


@pytest.mark.parametrize("q1, q2, c", [(1.0, 1.0, 0.3), (0.5, 2.0, -0.9), (3.0, 0.2, 0.7)])
def test_gaussian_expectation_of_polynomials(q1, q2, c):
    """E[1] = 1, E[uv] = c, E[u^2 v^2] = q1 q2 + 2 c^2 (Isserlis)."""
    assert gaussian_expectation(lambda u: 1.0, lambda v: 1.0, q1, q2, c) == pytest.approx(
        1.0, abs=1e-12)
    assert gaussian_expectation(lambda u: u, lambda v: v, q1, q2, c) == pytest.approx(
        c, abs=1e-12)
    assert gaussian_expectation(lambda u: u * u, lambda v: v * v, q1, q2, c) == pytest.approx(
        q1 * q2 + 2 * c * c, rel=1e-11)


def test_gaussian_expectation_of_relu_is_the_arc_cosine_kernel():
    """Cho & Saul's order-1 arc-cosine kernel, written out independently."""
    q1, q2, c = 1.3, 0.7, 0.4
    angle = math.acos(c / math.sqrt(q1 * q2))
    expected = math.sqrt(q1 * q2) * (math.sin(angle) + (math.pi - angle) * math.cos(angle)) / (
        2 * math.pi)
    relu = lambda u: max(u, 0.0)  # noqa: E731
    assert gaussian_expectation(relu, relu, q1, q2, c) == pytest.approx(expected, rel=1e-12)


def test_kernel_monte_carlo_trials_shapes_and_seeds():
    point = KERNEL_MC_SWEEP.points("quick")[0]
    result = kernel_monte_carlo_trials({**point, "n_networks": 3})
    assert np.array_equal(result["inputs"], kernel_inputs())
    assert result["nngp_samples"].shape == result["ntk_samples"].shape == (3, 6, 6)
    for products, ntk in zip(result["nngp_samples"], result["ntk_samples"], strict=True):
        assert np.linalg.matrix_rank(products) == 1  # f(x) f(x') of one network
        assert np.linalg.eigvalsh(ntk).min() > -1e-12  # J J^T is positive semidefinite
    for scale in KERNEL_MC_GRIDS:
        points = KERNEL_MC_SWEEP.points(scale)
        assert len({p["seed"] for p in points}) == len(points)
